/* builtin.c - the texts of glimp's own chat templates: the test models' and
 * the demo pair's. */
#include "chat/builtin.h"

/* ChatML as Qwen3 writes it, without tools: earlier turns' reasoning is
 * dropped, and enable_thinking=false pre-fills an empty think block. It
 * renders like Qwen3's own template for everything it handles. */
const char chat_builtin_template[] =
    "{%- for message in messages %}\n"
    "    {%- if message.role == 'assistant' %}\n"
    "        {%- set content = message.content %}\n"
    "        {%- if '</think>' in content %}\n"
    "            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}\n"
    "        {%- endif %}\n"
    "        {{- '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "    {%- if enable_thinking is defined and enable_thinking is false %}\n"
    "        {{- '<think>\\n\\n</think>\\n\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n";

/* The demo pair's (models/demo): each message's text and a blank line, the
 * way models/demo/prompt.txt frames a problem. */
const char chat_demo_template[] = "{%- for message in messages %}\n"
                                  "    {{- message.content + '\\n\\n' }}\n"
                                  "{%- endfor %}\n";
