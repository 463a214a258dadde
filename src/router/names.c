/* names.c - the router's enums as the words the command line, the server
 * and the logs use; "?" for a value outside the enum. */
#include "glimp.h"

#include <string.h>

const char *glimp_policy_name(enum glimp_policy p)
{
    switch (p) {
    case GLIMP_POLICY_GLIMP: return "glimp";
    case GLIMP_POLICY_SHARE: return "share";
    case GLIMP_POLICY_INSTANCE: return "instance";
    case GLIMP_POLICY_RANDOM: return "random";
    case GLIMP_POLICY_SLM: return "slm";
    case GLIMP_POLICY_LLM: return "llm";
    case GLIMP_POLICY_SPECREASON: return "specreason";
    }
    return "?";
}

const char *glimp_signal_name(enum glimp_signal s)
{
    switch (s) {
    case GLIMP_SIGNAL_HINIT: return "hinit";
    case GLIMP_SIGNAL_HSTEP: return "hstep";
    case GLIMP_SIGNAL_PPL: return "ppl";
    }
    return "?";
}

bool glimp_policy_parse(const char *name, enum glimp_policy *out)
{
    for (int i = GLIMP_POLICY_GLIMP; name && i <= GLIMP_POLICY_SPECREASON; i++)
        if (!strcmp(name, glimp_policy_name((enum glimp_policy)i))) {
            *out = (enum glimp_policy)i;
            return true;
        }
    return false;
}

bool glimp_signal_parse(const char *name, enum glimp_signal *out)
{
    for (int i = GLIMP_SIGNAL_HINIT; name && i <= GLIMP_SIGNAL_PPL; i++)
        if (!strcmp(name, glimp_signal_name((enum glimp_signal)i))) {
            *out = (enum glimp_signal)i;
            return true;
        }
    return false;
}

const char *glimp_segment_name(enum glimp_segment s)
{
    switch (s) {
    case GLIMP_SEGMENT_BLANK: return "blank";
    case GLIMP_SEGMENT_LINE: return "line";
    case GLIMP_SEGMENT_MARKER: return "marker";
    }
    return "?";
}

const char *glimp_writer_name(enum glimp_writer w)
{
    switch (w) {
    case GLIMP_WRITER_SLM: return "slm";
    case GLIMP_WRITER_LLM: return "llm";
    }
    return "?";
}

const char *glimp_think_end_name(enum glimp_think_end e)
{
    switch (e) {
    case GLIMP_THINK_NONE: return "none";
    case GLIMP_THINK_TAG: return "tag";
    case GLIMP_THINK_REPEAT: return "repeat";
    case GLIMP_THINK_BUDGET: return "budget";
    case GLIMP_THINK_EOS: return "eos";
    case GLIMP_THINK_STOPPED: return "stopped";
    }
    return "?";
}
