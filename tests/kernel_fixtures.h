/* kernel_fixtures.h - weight matrices, activation rows and float
 * comparisons for the kernel tests (test_kernels.c, test_amx.c). Failures
 * end the running cmocka test. */
#ifndef GLIMP_TESTS_KERNEL_FIXTURES_H
#define GLIMP_TESTS_KERNEL_FIXTURES_H

#include "glimp.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mat {
    struct glimp_wmat w;
    void *data; /* free() it */
};

/* n_out rows of n_in random weights of type, quantized by the reference
 * quantizer; with raw, quantized blocks get random bytes instead (every
 * bit pattern: extreme levels, -128 included, and scales), their fp16
 * scales set to sane values. */
void make_mat(struct mat *m, uint32_t type, uint32_t n_in, uint32_t n_out, uint64_t seed,
              bool raw);

/* n_tok activation rows of n_in with an outlier channel, as real ones
 * have (malloc'd). */
float *make_x(uint32_t n_in, uint32_t n_tok, uint64_t seed);

/* Activation rows in a table's format for a weight matrix, and the product
 * function the table uses for it. */
struct acts {
    char *buf; /* free() it */
    size_t stride;
    glimp_mm_fn fn;
    enum glimp_act f;
};

struct acts prepare(const struct glimp_kernels *k, const struct glimp_wmat *w, const float *x,
                    uint32_t n_tok);

/* Fails unless a and b hold the same n floats, bit for bit. */
void same_floats(const float *a, const float *b, size_t n, const char *what);

/* max |y - ref| over max |ref| (every y finite, ref not all zero). */
double rel_err(const float *y, const float *ref, size_t n);

#endif
