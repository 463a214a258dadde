/* matmul_ref.c - scalar reference matrix products on every supported weight
 * type: dequantize a row, then dot in the fixed order of glimp_dot_f32_ref.
 * Slow but exact about its order; the fast paths are held to it. */
#include "kernels/matmul.h"
#include "kernels/quant.h"

#include <string.h>

void glimp_wmat_row_ref(const struct glimp_wmat *w, uint32_t r, float *dst)
{
    const void *src = (const char *)w->data + (size_t)r * w->row_bytes;
    uint64_t n = w->n_in;
    switch (w->type) {
    case GLIMP_TYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
    case GLIMP_TYPE_F16: glimp_dequantize_row_f16_ref(src, dst, n); break;
    case GLIMP_TYPE_BF16: glimp_dequantize_row_bf16_ref(src, dst, n); break;
    case GLIMP_TYPE_Q8_0: glimp_dequantize_row_q8_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_0: glimp_dequantize_row_q4_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_0: glimp_dequantize_row_q5_0_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_1: glimp_dequantize_row_q5_1_ref(src, dst, n); break;
    case GLIMP_TYPE_Q4_K: glimp_dequantize_row_q4_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q5_K: glimp_dequantize_row_q5_K_ref(src, dst, n); break;
    case GLIMP_TYPE_Q6_K: glimp_dequantize_row_q6_K_ref(src, dst, n); break;
    default: memset(dst, 0, n * sizeof(float)); break; /* the loader refuses these */
    }
}

float glimp_dot_f32_ref(const float *a, const float *b, size_t n)
{
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++)
            s[j] += a[i + j] * b[i + j];
    for (size_t j = 0; i < n; i++, j++)
        s[j] += a[i] * b[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

void glimp_matmul_ref(const struct glimp_wmat *w, const float *x, size_t n_tok, float *y,
                      float *scratch)
{
    /* Rows outside, tokens inside: each row is dequantized once per call,
     * and each y element is the same dot whatever n_tok is. A threaded
     * version hands each thread a range of r. */
    for (uint32_t r = 0; r < w->n_out; r++) {
        const float *row;
        if (w->type == GLIMP_TYPE_F32) {
            row = (const float *)((const char *)w->data + (size_t)r * w->row_bytes);
        } else {
            glimp_wmat_row_ref(w, r, scratch);
            row = scratch;
        }
        for (size_t t = 0; t < n_tok; t++)
            y[t * w->n_out + r] = glimp_dot_f32_ref(row, x + t * w->n_in, w->n_in);
    }
}
