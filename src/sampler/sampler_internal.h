/* sampler_internal.h - the sampler's state and the steps of
 * glimp_sampler_sample taken apart, so that the tests can hold the filter
 * chain and the RNG to independent computations. */
#ifndef GLIMP_SAMPLER_INTERNAL_H
#define GLIMP_SAMPLER_INTERNAL_H

#include "glimp.h"

#include <stddef.h>
#include <stdint.h>

/* A candidate token: its raw logit and id. */
struct smp_cand {
    double w; /* scratch weight: exp(logit - max), then the draw weight */
    float logit;
    int32_t id;
};

struct glimp_sampler {
    struct glimp_sampler_params p;
    uint64_t rng[4];       /* xoshiro256** state, never all zero */
    uint32_t cap;          /* the n_vocab the scratch holds */
    struct smp_cand *cand; /* (cap) candidates; the filters shrink a prefix */
    int32_t *ids;          /* (cap) top-k heap */
};

/* The next 64 random bits (xoshiro256**). */
uint64_t smp_rng_next(struct glimp_sampler *s);

/* Check the logits and run top-k, top-p and min-p (not the temperature, no
 * draw): the survivors are left in s->cand[0 .. *n_out), in an order that
 * depends only on the logits and the params; *best is the largest logit's
 * id (lowest on ties). Fails as glimp_sampler_sample does. */
int smp_filter(struct glimp_sampler *s, const float *logits, uint32_t n_vocab, size_t *n_out,
               int32_t *best);

#endif
