/* backend.c - what every backend shares: the public calls that go through
 * the vtable and the text buffer of a generate call. */
#include "backend/backend.h"

#include "core/buf.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bk_gen_reset(struct bk_gen_out *out)
{
    out->n = out->n_final = out->cut = 0;
    out->text_len = 0;
    if (out->text)
        out->text[0] = '\0';
    out->eos = out->end = out->ctx_full = out->cancelled = out->stopped = false;
}

bool bk_has_blank_line(const char *text, size_t len, size_t from)
{
    for (size_t i = from ? from - 1 : 0; i + 1 < len; i++)
        if (text[i] == '\n' && text[i + 1] == '\n')
            return true;
    return false;
}

void bk_gen_cut(struct bk_gen_out *out)
{
    if (out->cut >= out->n || !out->off)
        return;
    out->text_len = out->off[out->cut];
    out->text[out->text_len] = '\0';
    out->n = out->cut;
    out->n_final = out->n_final < out->n ? out->n_final : out->n;
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

uint64_t glimp_backend_vocab_hash(const struct glimp_backend *b)
{
    return b ? b->ops->vocab_hash(b) : 0;
}

const char *glimp_backend_warning(const struct glimp_backend *b)
{
    return b ? b->warning : "";
}

int bk_gen_keep(struct bk_gen_out *out, const struct bk_gen_rule *r, int32_t id, const char *piece,
                size_t len, double entropy, double logprob)
{
    size_t before = out->text_len;
    int rc = bk_text_append(out, piece, len);
    if (rc != GLIMP_OK)
        return rc;
    out->ids[out->n] = id;
    if (out->entropy)
        out->entropy[out->n] = entropy;
    if (out->logprob)
        out->logprob[out->n] = logprob;
    if (out->off)
        out->off[out->n] = before;
    out->n++;
    out->cut = out->n;
    if (r->seg)
        bk_segment_apply(r->seg, out, before);
    else
        out->n_final = out->n;
    if (r->on_token && !r->on_token(r->user, id, piece, len))
        out->stopped = true;
    return GLIMP_OK;
}

double bk_dist_entropy(const struct bk_dist *d, uint32_t n_vocab, uint32_t k)
{
    if (d->logits)
        return k ? glimp_entropy_topk(d->logits, n_vocab, k) : glimp_entropy_full(d->logits, n_vocab);
    if (k == 0 || d->k == 0)
        return NAN;
    /* the top entries renormalised: softmax over their log-probabilities */
    uint32_t n = d->k < k ? d->k : k;
    float lp[BK_TOPK_MAX];
    for (uint32_t i = 0; i < n; i++)
        lp[i] = (float)d->logprob[i];
    return glimp_entropy_full(lp, n);
}

void bk_dist_fill_topk(struct bk_dist *d, uint32_t n_vocab, uint32_t k)
{
    k = k < BK_TOPK_MAX ? k : BK_TOPK_MAX;
    d->k = (uint32_t)glimp_logits_top_k(d->logits, n_vocab, k, d->id);
    double lse = glimp_log_sum_exp(d->logits, n_vocab);
    for (uint32_t i = 0; i < d->k; i++)
        d->logprob[i] = (double)d->logits[d->id[i]] - lse;
}

uint64_t bk_vocab_hash(const struct glimp_tokenizer *t)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint32_t n = glimp_tokenizer_n_vocab(t);
    for (uint32_t i = 0; i < n; i++) {
        const char *s = glimp_tokenizer_token_text(t, (int32_t)i);
        for (; s && *s; s++)
            h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
        h = (h ^ (0x100u + (unsigned)glimp_tokenizer_token_type(t, (int32_t)i))) * 0x100000001b3ull;
    }
    return h;
}

int bk_prompt_ids(const struct glimp_tokenizer *tok, const struct glimp_chat_template *tmpl,
                  const struct bk_prompt *p, struct glimp_tokens *out)
{
    const char *text = p->text;
    char *rendered = NULL;
    if (p->chat) {
        struct glimp_chat_message one = {.role = "user", .content = p->text};
        struct glimp_chat_params cp = glimp_chat_default_params();
        cp.enable_thinking = p->think;
        int rc = p->msgs ? glimp_chat_render(tmpl, p->msgs, p->n_msgs, &cp, &rendered)
                         : glimp_chat_render(tmpl, &one, 1, &cp, &rendered);
        if (rc != GLIMP_OK)
            return rc;
        text = rendered;
    }
    int rc = glimp_tokenize(tok, text, strlen(text), true, out);
    free(rendered);
    if (rc != GLIMP_OK)
        return rc;
    int32_t bos = glimp_tokenizer_bos(tok);
    if (glimp_tokenizer_add_bos(tok) && bos >= 0 && (out->n == 0 || out->ids[0] != bos))
        rc = glimp_tokens_insert(out, 0, &bos, 1);
    if (rc == GLIMP_OK && out->n == 0)
        rc = glimp_error(GLIMP_ERR_INVALID, "backend: the prompt is empty: no tokens");
    return rc;
}
