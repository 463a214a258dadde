/* detect.c - which chat-template family a GGUF model uses. The model's
 * tokenizer.chat_template is matched against fingerprints: the snippets of
 * each known template that decide what it renders for system, user and
 * assistant turns. Without a template the architecture and the special
 * tokens give a guess. */
#include "chat/chat_internal.h"

#include "chat/builtin.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Templates are compared with whitespace removed and "{%-", "-%}", "{{-",
 * "-}}" written without the dash, so reformatting or other whitespace
 * control does not hide a known template. Markers below are written in that
 * form; "\\n" is the two characters a Jinja string literal holds. */
static char *normalise(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            continue;
        if (c == '-' && k > 0 && (out[k - 1] == '%' || out[k - 1] == '{') && k > 1 &&
            out[k - 2] == '{')
            continue; /* "{%-" or "{{-" */
        if (c == '-') {
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'))
                j++;
            if (j + 1 < n && (s[j] == '%' || s[j] == '}') && s[j + 1] == '}')
                continue; /* "-%}" or "-}}" */
        }
        out[k++] = c;
    }
    out[k] = '\0';
    return out;
}

struct fingerprint {
    enum glimp_chat_family family;
    const char *const *all;  /* every one must occur */
    const char *const *none; /* none may occur (a known variant that renders otherwise) */
};

/* Qwen3's template (Qwen/Qwen3-*): the thinking switch, the reasoning split
 * and where think blocks are kept. */
static const char *const qwen3_all[] = {
    "<|im_start|>",
    "'<|im_start|>system\\n'+messages[0].content+'<|im_end|>\\n'",
    "ns.last_query_index=index",
    "startswith('<tool_response>')",
    "split('</think>')[-1].lstrip('\\n')",
    "split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n')",
    "ifloop.index0>ns.last_query_index",
    "ifloop.lastor(notloop.lastandreasoning_content)",
    "'\\n<think>\\n'+reasoning_content.strip('\\n')+'\\n</think>\\n\\n'+content.lstrip('\\n')",
    "enable_thinkingisdefinedandenable_thinkingisfalse",
    "'<think>\\n\\n</think>\\n\\n'",
    NULL,
};

/* Qwen2.5 Instruct (and Coder): ChatML with Qwen's default system line. */
static const char *const qwen25_all[] = {
    "'<|im_start|>system\\n'+messages[0]['content']+'<|im_end|>\\n'",
    "'<|im_start|>system\\nYouareQwen,createdbyAlibabaCloud.Youareahelpfulassistant.<|im_end|>"
    "\\n'",
    "(message.role==\"assistant\"andnotmessage.tool_calls)",
    "'<|im_start|>'+message.role+'\\n'+message.content+'<|im_end|>'+'\\n'",
    "{%ifadd_generation_prompt%}{{'<|im_start|>assistant\\n'}}{%endif%}",
    NULL,
};
static const char *const qwen25_none[] = {"<think>", "enable_thinking", "reasoning_content", NULL};

/* DeepSeek-R1-Distill-Qwen/-Llama. The full DeepSeek-R1 and V3 templates
 * join several system messages (is_first_sp); llama.cpp's own R1 template
 * ends user turns with <｜end▁of▁sentence｜>: neither matches. */
static const char *const r1_all[] = {
    "{{bos_token}}{{ns.system_prompt}}",
    "{%setns.system_prompt=message['content']%}",
    "{{'<｜User｜>'+message['content']}}",
    "{%setcontent=content.split('</think>')[-1]%}",
    "{{'<｜Assistant｜>'+content+'<｜end▁of▁sentence｜>'}}",
    "{{'<｜Assistant｜><think>\\n'}}",
    NULL,
};
static const char *const r1_none[] = {"is_first_sp", NULL};

static const char *const no_markers[] = {NULL};

static const struct fingerprint known[] = {
    {GLIMP_CHAT_DEEPSEEK_R1, r1_all, r1_none},
    {GLIMP_CHAT_QWEN3, qwen3_all, no_markers},
    {GLIMP_CHAT_QWEN25, qwen25_all, qwen25_none},
};

/* The generic ChatML template, recognised only verbatim (outer whitespace
 * aside): with whitespace between its tags it would render otherwise. */
static const char chatml_template[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}";

static bool has(const char *norm, const char *marker)
{
    return strstr(norm, marker) != NULL;
}

static bool matches(const char *norm, const struct fingerprint *f)
{
    for (const char *const *m = f->all; *m; m++)
        if (!has(norm, *m))
            return false;
    for (const char *const *m = f->none; *m; m++)
        if (has(norm, *m))
            return false;
    return true;
}

/* The family a template that is none of the known ones looks most like, by
 * its special tokens, or CHATML when it looks like none. */
static enum glimp_chat_family resemblance(const char *norm, bool *resembles)
{
    *resembles = true;
    if (has(norm, "<｜User｜>") && has(norm, "<｜Assistant｜>") && has(norm, "<think>"))
        return GLIMP_CHAT_DEEPSEEK_R1;
    if (has(norm, "<|im_start|>") &&
        (has(norm, "enable_thinking") || has(norm, "reasoning_content") || has(norm, "<think>")))
        return GLIMP_CHAT_QWEN3;
    if (has(norm, "<|im_start|>") && has(norm, "YouareQwen,createdbyAlibabaCloud"))
        return GLIMP_CHAT_QWEN25;
    *resembles = false;
    return GLIMP_CHAT_CHATML;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_chatml(const char *s, size_t n)
{
    while (n > 0 && is_space(s[0]))
        s++, n--;
    while (n > 0 && is_space(s[n - 1]))
        n--;
    return n == sizeof chatml_template - 1 && memcmp(s, chatml_template, n) == 0;
}

/* A string metadata value, or NULL when absent or of another type. */
static const struct glimp_str *get_str(const struct glimp_gguf *g, const char *key)
{
    const struct glimp_gguf_kv *kv = glimp_gguf_find(g, key);
    return kv && kv->val.type == GLIMP_GGUF_STR ? &kv->val.s : NULL;
}

static const struct glimp_gguf_value *get_tokens(const struct glimp_gguf *g)
{
    const struct glimp_gguf_kv *kv = glimp_gguf_find(g, "tokenizer.ggml.tokens");
    return kv && kv->val.type == GLIMP_GGUF_ARR && kv->val.arr.type == GLIMP_GGUF_STR ? &kv->val
                                                                                      : NULL;
}

static bool vocab_has(const struct glimp_gguf_value *tokens, const char *text)
{
    if (!tokens)
        return false;
    size_t m = strlen(text);
    /* Special tokens sit at the end of the vocabularies these come from. */
    for (uint64_t i = tokens->arr.n; i-- > 0;) {
        const struct glimp_str *s = &tokens->arr.strs[i];
        if (s->len == m && memcmp(s->ptr, text, m) == 0)
            return true;
    }
    return false;
}

/* A family from the architecture and the special tokens, for a model
 * without a template. */
static enum glimp_chat_family guess(const struct glimp_gguf_value *tokens, const char *arch)
{
    if (vocab_has(tokens, "<｜User｜>") && vocab_has(tokens, "<｜Assistant｜>"))
        return GLIMP_CHAT_DEEPSEEK_R1;
    if (vocab_has(tokens, "<|im_start|>")) {
        if (strcmp(arch, "qwen3") == 0 || vocab_has(tokens, "<think>"))
            return GLIMP_CHAT_QWEN3;
        if (strcmp(arch, "qwen2") == 0)
            return GLIMP_CHAT_QWEN25;
    }
    return GLIMP_CHAT_CHATML;
}

/* Copy a metadata string into a NUL-terminated buffer for messages: at most
 * cap - 1 bytes, cut back to a whole UTF-8 character, NULs as '?'. */
static void copy_text(char *dst, size_t cap, const struct glimp_str *s)
{
    size_t n = s->len < cap - 1 ? (size_t)s->len : cap - 1;
    if (n < s->len)
        while (n > 0 && ((unsigned char)s->ptr[n] & 0xC0) == 0x80)
            n--;
    for (size_t i = 0; i < n; i++)
        dst[i] = s->ptr[i] ? s->ptr[i] : '?';
    dst[n] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
set_warning(struct glimp_chat_template *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct glimp_str s = {buf, strlen(buf)};
    copy_text(t->warning, sizeof t->warning, &s);
}

/* The BOS token's text, when the model names one and it fits. */
static void read_bos(const struct glimp_gguf *g, const struct glimp_gguf_value *tokens,
                     struct glimp_chat_template *out, bool *too_long)
{
    *too_long = false;
    const struct glimp_gguf_kv *kv = glimp_gguf_find(g, "tokenizer.ggml.bos_token_id");
    if (!kv || !tokens)
        return;
    uint64_t id;
    switch (kv->val.type) {
    case GLIMP_GGUF_U8:
    case GLIMP_GGUF_U16:
    case GLIMP_GGUF_U32:
    case GLIMP_GGUF_U64: id = kv->val.u; break;
    case GLIMP_GGUF_I8:
    case GLIMP_GGUF_I16:
    case GLIMP_GGUF_I32:
    case GLIMP_GGUF_I64:
        if (kv->val.i < 0)
            return;
        id = (uint64_t)kv->val.i;
        break;
    default: return;
    }
    if (id >= tokens->arr.n)
        return;
    const struct glimp_str *s = &tokens->arr.strs[id];
    if (s->len >= sizeof out->bos_text || memchr(s->ptr, '\0', s->len)) {
        *too_long = true;
        return;
    }
    memcpy(out->bos_text, s->ptr, s->len);
    out->bos_text[s->len] = '\0';
}

int glimp_chat_detect(const struct glimp_gguf *g, struct glimp_chat_template *out)
{
    if (!out)
        return glimp_error(GLIMP_ERR_INVALID, "chat: no output template");
    memset(out, 0, sizeof *out);
    out->family = GLIMP_CHAT_CHATML;
    if (!g)
        return glimp_error(GLIMP_ERR_INVALID, "chat: no model");

    char arch[64] = "no architecture", name[96] = "";
    const struct glimp_str *s;
    if ((s = get_str(g, "general.architecture")))
        copy_text(arch, sizeof arch, s);
    if ((s = get_str(g, "general.name")))
        copy_text(name, sizeof name, s);
    char model[200];
    if (name[0])
        snprintf(model, sizeof model, "'%s' (%s)", name, arch);
    else
        snprintf(model, sizeof model, "(unnamed, %s)", arch);

    const struct glimp_gguf_value *tokens = get_tokens(g);
    bool bos_too_long;
    read_bos(g, tokens, out, &bos_too_long);

    const struct glimp_str *tmpl = get_str(g, "tokenizer.chat_template");
    if (!tmpl) {
        out->family = guess(tokens, arch);
        out->fallback = true;
        if (out->family == GLIMP_CHAT_CHATML)
            set_warning(out,
                        "model %s has no tokenizer.chat_template and nothing to guess one from; "
                        "using generic ChatML",
                        model);
        else
            set_warning(out,
                        "model %s has no tokenizer.chat_template; using %s, guessed from its "
                        "architecture and special tokens",
                        model, glimp_chat_family_name(out->family));
    } else if (is_chatml(tmpl->ptr, tmpl->len)) {
        out->family = GLIMP_CHAT_CHATML;
    } else if (tmpl->len == strlen(chat_builtin_template) &&
               !memcmp(tmpl->ptr, chat_builtin_template, tmpl->len)) {
        out->family = GLIMP_CHAT_QWEN3; /* glimp's own test models */
    } else if (tmpl->len == strlen(chat_demo_template) &&
               !memcmp(tmpl->ptr, chat_demo_template, tmpl->len)) {
        out->family = GLIMP_CHAT_DEMO; /* the demo pair */
    } else {
        char *norm = normalise(tmpl->ptr, tmpl->len);
        if (!norm)
            return glimp_error(GLIMP_ERR_NOMEM, "chat: out of memory for a %llu-byte template",
                               (unsigned long long)tmpl->len);
        bool found = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0] && !found; i++) {
            if (matches(norm, &known[i])) {
                out->family = known[i].family;
                found = true;
            }
        }
        if (!found) {
            bool resembles;
            out->family = resemblance(norm, &resembles);
            out->fallback = true;
            if (resembles)
                set_warning(out,
                            "chat template of model %s is not a known %s template but resembles "
                            "one; rendering as %s, which may differ from the model's template",
                            model, glimp_chat_family_name(out->family),
                            glimp_chat_family_name(out->family));
            else
                set_warning(out,
                            "chat template of model %s not recognised; rendering as generic "
                            "ChatML (<|im_start|>role ... <|im_end|>)",
                            model);
        }
        free(norm);
    }

    /* The R1 template prints the BOS text; a prompt without it would be
     * quietly wrong. */
    if (out->family == GLIMP_CHAT_DEEPSEEK_R1 && bos_too_long)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "chat: model %s: the BOS token's text is longer than %zu bytes or "
                           "holds a NUL byte",
                           model, sizeof out->bos_text - 1);
    return GLIMP_OK;
}
