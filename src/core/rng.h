/* rng.h - the one random number generator of the library: xoshiro256**
 * seeded through splitmix64, so one seed gives the same stream on every
 * platform. The sampler and the random and share policies each keep their
 * own state. */
#ifndef GLIMP_CORE_RNG_H
#define GLIMP_CORE_RNG_H

#include <stdint.h>

/* Four words of state, never all zero (splitmix64 is a bijection of its
 * counter, so four consecutive outputs cannot all be zero). */
void rng_seed(uint64_t state[4], uint64_t seed);
/* The next 64 random bits. */
uint64_t rng_next(uint64_t state[4]);
/* A uniform double in [0, 1) from the top 53 bits of one draw. */
double rng_unit(uint64_t state[4]);

#endif
