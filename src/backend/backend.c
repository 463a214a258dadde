/* backend.c - what every backend shares: the public calls that go through
 * the vtable and the text buffer of a generate call. */
#include "backend/backend.h"

#include "core/buf.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

void bk_gen_reset(struct bk_gen_out *out)
{
    out->n = 0;
    out->text_len = 0;
    if (out->text)
        out->text[0] = '\0';
    out->eos = out->blank = out->ctx_full = out->cancelled = false;
    out->t_first = 0.0;
}

bool bk_has_blank_line(const char *text, size_t len, size_t from)
{
    for (size_t i = from ? from - 1 : 0; i + 1 < len; i++)
        if (text[i] == '\n' && text[i + 1] == '\n')
            return true;
    return false;
}

int bk_text_append(struct bk_gen_out *out, const char *s, size_t len)
{
    return buf_append(&out->text, &out->text_len, &out->text_cap, s, len);
}

void glimp_backend_free(struct glimp_backend *b)
{
    if (b)
        b->ops->free(b);
}

const char *glimp_backend_describe(const struct glimp_backend *b)
{
    return b ? b->desc : "";
}

uint32_t glimp_backend_n_vocab(const struct glimp_backend *b)
{
    return b ? b->n_vocab : 0;
}

const char *glimp_backend_warning(const struct glimp_backend *b)
{
    return b ? b->warning : "";
}
