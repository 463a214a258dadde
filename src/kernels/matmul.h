/* matmul.h - weight matrices as they lie in a GGUF mapping, and the scalar
 * reference products with them: y = W x for one or many activation rows.
 * Every output element is one dot product in a fixed order, whatever the
 * number of rows, so results do not depend on how tokens are batched. */
#ifndef GLIMP_KERNELS_MATMUL_H
#define GLIMP_KERNELS_MATMUL_H

#include "glimp.h"

/* A weight matrix in ggml's layout: n_out rows of n_in elements each
 * (GGUF ne = [n_in, n_out]), rows stored one after another in the blocks of
 * type. n_in is a multiple of the type's block size. */
struct glimp_wmat {
    const void *data; /* inside the read-only mapping */
    uint32_t type;    /* enum glimp_type, a supported one */
    uint32_t n_in;
    uint32_t n_out;
    size_t row_bytes;
};

/* Row r of w as n_in floats in dst. */
void glimp_wmat_row_ref(const struct glimp_wmat *w, uint32_t r, float *dst);

/* Dot product of n floats: eight interleaved partial sums (element i goes
 * to sum i % 8), combined as ((s0+s4)+(s1+s5))+((s2+s6)+(s3+s7)). The
 * fixed order is the contract a SIMD version has to keep to stay bitwise
 * equal to this one. */
float glimp_dot_f32_ref(const float *a, const float *b, size_t n);

/* y[t * n_out + r] = dot(row r of w, x[t * n_in ...]) for t < n_tok. Each
 * weight row is dequantized once into scratch (n_in floats; unused for F32)
 * and dotted with every activation row. Threads will split the rows. */
void glimp_matmul_ref(const struct glimp_wmat *w, const float *x, size_t n_tok, float *y,
                      float *scratch);

#endif
