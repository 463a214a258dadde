/* spec.c - speculative decoding inside LLM-written steps: the SLM drafts a
 * few tokens, the LLM reads them in one batch, and the standard rule keeps
 * the output exactly the LLM's: exact match when greedy; when sampling,
 * accept draft x with probability min(1, p(x)/q(x)), else draw from
 * max(0, p - q) normalised, and after a fully accepted draft one bonus
 * token from p. Rejected drafts are rolled back in both models. */
#include "router/router_internal.h"

#include "core/error.h"

/* Draw the correction token after a rejected draft: from max(0, p - q)
 * normalised, or from p itself when that is empty (p == q up to rounding). */
static int draw_residual(struct glimp_request *q, const float *p, const float *qd, int32_t *id)
{
    struct rt_model *l = &q->m[GLIMP_WRITER_LLM];
    const uint32_t nv = l->b->n_vocab;
    double sum = 0.0;
    for (uint32_t i = 0; i < nv; i++) {
        float d = p[i] - qd[i];
        q->spec_r[i] = d > 0.0f ? d : 0.0f;
        sum += q->spec_r[i];
    }
    return l->b->ops->draw(l->seq, sum > 0.0 ? q->spec_r : p, id);
}

int rt_spec_write(struct glimp_request *q, uint32_t budget, const struct bk_segment *seg)
{
    const enum glimp_writer S = GLIMP_WRITER_SLM, L = GLIMP_WRITER_LLM;
    struct rt_model *sm = &q->m[S], *lm = &q->m[L];
    const struct bk_ops *so = sm->b->ops, *lo = lm->b->ops;
    const size_t nv = lm->b->n_vocab;
    const bool greedy = q->p.sampling.temperature == 0.0f;
    float *P = q->spec_p, *Q = q->spec_q;
    int32_t d[RT_DRAFT_MAX + 1], a[RT_DRAFT_MAX + 2], nt[RT_DRAFT_MAX + 2];
    int rc = GLIMP_OK;

    const enum rt_part was = q->clk.cur;
    while (q->step.n < budget && !q->step.end && !q->step.eos && !q->step.ctx_full &&
           !q->step.stopped) {
        if (rt_cancelled(q)) {
            q->step.cancelled = true;
            break;
        }
        /* The LLM reads its last unread token together with the drafts
         * (one pass a round); anything before that is read now. */
        uint32_t k;
        if ((rc = rt_sync_but_last(q, L, &k)) != GLIMP_OK)
            return rc;
        const uint32_t have = (uint32_t)lm->ids.n - k;
        /* Room, so that drafting changes nothing whichever context fills
         * first. The LLM keeps a token only where it can read it, as when
         * it writes alone: lroom more at most, the drafts and the one after
         * them (none when lroom is 0: the round then tells the end of the
         * step from a full context). The SLM reads its ids and every draft
         * but the last; with no room left it drafts nothing and the LLM
         * carries on alone, one token a round. */
        const uint32_t lroom = lo->seq_n_ctx(lm->seq) - (uint32_t)lm->ids.n;
        const uint32_t s_ctx = so->seq_n_ctx(sm->seq), s_n = (uint32_t)sm->ids.n;
        uint32_t n = q->p.draft < budget - q->step.n ? q->p.draft : budget - q->step.n;
        uint32_t room = s_n > s_ctx ? 0 : s_ctx - s_n + 1;
        room = lroom == 0 ? 0 : lroom - 1 < room ? lroom - 1 : room;
        n = n < room ? n : room;
        if (n > 0 && (rc = rt_sync(q, S)) != GLIMP_OK)
            return rc;

        /* draft: the SLM samples n tokens, reading all but the last */
        rt_charge(&q->clk, RT_PART_SLM);
        uint32_t nd = 0, s_read = 0;
        bool d_eog = false;
        while (nd < n) {
            int32_t id;
            struct bk_dist sd;
            rc = so->next(sm->seq, 0, &sd);
            if (rc == GLIMP_OK && greedy) {
                rc = so->sample(sm->seq, sd.logits, &id);
            } else if (rc == GLIMP_OK) {
                rc = so->probs(sm->seq, sd.logits, Q + nd * nv);
                if (rc == GLIMP_OK)
                    rc = so->draw(sm->seq, Q + nd * nv, &id);
            }
            if (rc != GLIMP_OK)
                goto out;
            d[nd++] = id;
            if (so->is_eog(sm->b, id)) {
                d_eog = true;
                break;
            }
            if (nd < n) {
                if ((rc = so->append(sm->seq, &id, 1)) != GLIMP_OK ||
                    (rc = glimp_tokens_push(&sm->ids, &id, 1)) != GLIMP_OK)
                    goto out;
                s_read++;
            }
        }
        rt_charge(&q->clk, RT_PART_LLM);

        /* verify: the LLM's distributions before and after each draft, from
         * one batch (its unread token, then the drafts) */
        uint32_t l_read = d_eog ? nd - 1 : nd;
        if (k == 0) {
            struct bk_dist ld;
            rc = lo->next(lm->seq, 0, &ld);
            if (rc == GLIMP_OK)
                rc = greedy ? lo->sample(lm->seq, ld.logits, &a[0])
                            : lo->probs(lm->seq, ld.logits, P);
            if (rc != GLIMP_OK)
                goto out;
        }
        if (k + l_read > 0) {
            const float *rows;
            if ((rc = glimp_tokens_push(&lm->ids, d, l_read)) != GLIMP_OK)
                goto out;
            lm->live = false;
            if ((rc = lo->score(lm->seq, lm->ids.ids + have, k + l_read, &rows)) != GLIMP_OK)
                goto out;
            lm->live = true;
            for (uint32_t j = 1 - k; j <= l_read && rc == GLIMP_OK; j++) {
                const float *row = rows + (size_t)(j + k - 1) * lm->b->n_logits;
                rc = greedy ? lo->sample(lm->seq, row, &a[j])
                            : lo->probs(lm->seq, row, P + (size_t)j * nv);
            }
            if (rc != GLIMP_OK)
                goto out;
        }
        uint32_t na = 0, nn = 0;
        bool rejected = false;
        for (uint32_t j = 0; j < nd; j++) {
            bool ok;
            if (greedy) {
                ok = d[j] == a[j];
            } else {
                double pj = P[(size_t)j * nv + d[j]], qj = Q[(size_t)j * nv + d[j]];
                ok = lo->uniform(lm->seq) * qj < pj;
            }
            if (ok) {
                nt[nn++] = d[j];
                na++;
                continue;
            }
            int32_t c = a[j];
            if (!greedy &&
                (rc = draw_residual(q, P + (size_t)j * nv, Q + (size_t)j * nv, &c)) != GLIMP_OK)
                return rc;
            nt[nn++] = c;
            rejected = true;
            break;
        }
        if (!rejected && !d_eog) { /* every draft stood: one more from the LLM */
            int32_t c = a[nd];
            if (!greedy && (rc = lo->draw(lm->seq, P + (size_t)nd * nv, &c)) != GLIMP_OK)
                goto out;
            nt[nn++] = c;
        }
        rt_charge(&q->clk, was);
        q->step_proposed += nd;
        q->step_accepted += na;
        q->draft_proposed += nd;
        q->draft_accepted += na;

        /* keep the new tokens up to the end of the step */
        size_t n0 = q->step.n;
        uint32_t kept = 0;
        for (uint32_t t = 0; t < nn; t++) {
            if (lo->is_eog(lm->b, nt[t])) {
                q->step.eos = true;
                break;
            }
            if (lroom == 0) {
                q->ctx_full = q->step.ctx_full = true;
                break;
            }
            if ((rc = rt_step_add(q, L, nt[t], seg)) != GLIMP_OK)
                return rc;
            kept++;
            if (q->step.end || q->step.n >= budget)
                break;
        }
        /* both models: the step so far, reading on from the kept drafts */
        uint32_t l_in = kept < na ? kept : na, s_in = l_in;
        l_in = l_in < l_read ? l_in : l_read;
        s_in = s_in < s_read ? s_in : s_read;
        if ((rc = rt_keep(q, L, q->step_start[L] + n0 + l_in)) != GLIMP_OK ||
            (rc = glimp_tokens_push(&lm->ids, nt + l_in, kept - l_in)) != GLIMP_OK ||
            (rc = rt_keep(q, S, q->step_start[S] + n0 + s_in)) != GLIMP_OK ||
            (rc = glimp_tokens_push(&sm->ids, nt + s_in, kept - s_in)) != GLIMP_OK)
            return rc;
    }
    return rc;
out:
    rt_charge(&q->clk, was);
    return rc;
}
