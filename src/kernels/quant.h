/* quant.h - block layouts of the quantized tensor types glimp computes with,
 * byte for byte those of ggml (so GGUF tensors are used in place), and the
 * per-row quantize/dequantize functions: the scalar references (*_ref) here,
 * SIMD versions beside them later, held to the references by the tests. */
#ifndef GLIMP_KERNELS_QUANT_H
#define GLIMP_KERNELS_QUANT_H

#include <assert.h>
#include <stdint.h>

#define QK8_0 32 /* elements per Q8_0 block */
#define QK4_0 32 /* elements per Q4_0 block */
#define QK5_0 32 /* elements per Q5_0 and Q5_1 block */
#define QK_K 256 /* elements per K-quant super-block */
#define K_SCALE_SIZE 12

/* All multi-byte fields are little-endian; "fp16" fields hold IEEE half bits
 * (glimp_fp16_to_fp32). The structs contain only uint8/int8/uint16 fields,
 * so they have no padding and 2-byte alignment. */

/* Q8_0: 32 elements, x[i] = d * qs[i].
 *
 *   byte  0..1    2 ........................ 33
 *        +------+-----------------------------+
 *        |  d   | qs[0] qs[1] ...     qs[31]  |   qs: int8, -127..127
 *        +------+-----------------------------+
 */
typedef struct {
    uint16_t d;       /* fp16 scale */
    int8_t qs[QK8_0]; /* (32) */
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes");

/* Q4_0: 32 elements as 4-bit unsigned q with an implicit offset of 8,
 * x = d * (q - 8). Byte j carries elements j and j + 16:
 *
 *   qs[j]:  7 6 5 4 | 3 2 1 0
 *          +--------+--------+
 *          |  x[j+16] |  x[j]  |     j = 0..15
 *          +--------+--------+
 */
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint8_t qs[QK4_0 / 2]; /* (16) two nibbles per byte */
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes");

/* Q5_0: 32 elements as 5-bit unsigned q with an implicit offset of 16,
 * x = d * (q - 16). The low four bits are packed as in Q4_0 (byte j of qs
 * carries elements j and j + 16); the fifth bits form a 32-bit field in qh,
 * bit e for element e, so element e's is bit e % 8 of byte qh[e / 8]:
 *
 *   byte  0..1   2..5                      6 ......................... 21
 *        +------+-------------------------+-----------------------------+
 *        |  d   | qh[0] qh[1] qh[2] qh[3] | qs[0] ...            qs[15] |
 *        +------+-------------------------+-----------------------------+
 *
 *   qh[k]:  bit 7     ...     bit 0          qs[j]:  7 6 5 4 | 3 2 1 0
 *          +------------------------+               +--------+--------+
 *          | x[8k+7]  ...    x[8k]  |               |x[j+16] |  x[j]  |
 *          +------------------------+               +--------+--------+
 *   (k = 0, 1: elements 0..15; k = 2, 3: elements 16..31)
 *
 *   q(e) = (e < 16 ? qs[e] & 15 : qs[e - 16] >> 4) | ((qh[e/8] >> (e%8)) & 1) << 4
 */
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint8_t qh[4];         /* fifth bits, element e at qh[e / 8] bit e % 8 */
    uint8_t qs[QK5_0 / 2]; /* (16) low four bits, two per byte */
} block_q5_0;
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 22 bytes");

/* Q5_1: as Q5_0 but with an unsigned q in 0..31 and an explicit offset,
 * x = d * q + m (m is the block's minimum as stored, usually negative).
 * qh and qs are laid out exactly as in Q5_0, two bytes later:
 *
 *   byte  0..1   2..3   4..7        8 .............. 23
 *        +------+------+-----------+--------------------+
 *        |  d   |  m   | qh[0..3]  | qs[0] ...   qs[15] |
 *        +------+------+-----------+--------------------+
 */
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint16_t m;            /* fp16 offset (the minimum) */
    uint8_t qh[4];         /* fifth bits, as in Q5_0 */
    uint8_t qs[QK5_0 / 2]; /* (16) low four bits, as in Q5_0 */
} block_q5_1;
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must be 24 bytes");

/* Scales and mins of Q4_K and Q5_K: eight 6-bit scales sc[0..7] and eight
 * 6-bit mins m[0..7], one pair per 32-element sub-block, packed in 12 bytes:
 *
 *   byte     7 6 | 5 4 3 2 1 0
 *   s[0..3]  sc[4..7]>>4 | sc[0..3]          (low 6 bits: scale j, j < 4)
 *   s[4..7]  m[4..7]>>4  | m[0..3]           (low 6 bits: min j, j < 4)
 *
 *   byte     7 6 5 4     | 3 2 1 0
 *   s[8..11] m[4..7]&15  | sc[4..7]&15       (low 4 bits of pair j = 4..7)
 *
 * So for j < 4:  sc = s[j] & 63,  m = s[j+4] & 63;
 *    for j >= 4: sc = (s[j+4] & 15) | ((s[j-4] >> 6) << 4),
 *                m  = (s[j+4] >> 4) | ((s[j]   >> 6) << 4).
 */
static inline void glimp_get_scale_min_k4(int j, const uint8_t *s, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* Q4_K: 256 elements in 8 sub-blocks of 32, 4-bit q in 0..15,
 *   x = d * sc[sub] * q - dmin * m[sub]          (d, dmin: fp16)
 *
 * qs is four 32-byte chunks; chunk c (c = 0..3) holds elements 64c..64c+63:
 *
 *   qs[32c + l]:  7 6 5 4          | 3 2 1 0
 *                +-----------------+-----------------+
 *                | x[64c + 32 + l] | x[64c + l]      |   l = 0..31
 *                | sub-block 2c+1  | sub-block 2c    |
 *                +-----------------+-----------------+
 */
typedef struct {
    uint16_t d;                   /* fp16 super-block scale of the scales */
    uint16_t dmin;                /* fp16 super-block scale of the mins */
    uint8_t scales[K_SCALE_SIZE]; /* 8 x (6-bit scale, 6-bit min), above */
    uint8_t qs[QK_K / 2];         /* (128) */
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes");

/* Q5_K: as Q4_K with a fifth bit per element, q in 0..31:
 *   x = d * sc[sub] * (lo4 + 16 * hi) - dmin * m[sub]
 * lo4 is packed in qs exactly as in Q4_K. The high bits live in qh, one bit
 * per chunk half, indexed by the position l within the 32-element run:
 *
 *   qh[l]:   bit 7  6  5  4  3  2  1  0
 *   chunk c:     3  3  2  2  1  1  0  0
 *   sub-block:   7  6  5  4  3  2  1  0     bit 2c   -> x[64c + l]
 *                                           bit 2c+1 -> x[64c + 32 + l]
 */
typedef struct {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8]; /* (32) fifth bits */
    uint8_t qs[QK_K / 2]; /* (128) low four bits */
} block_q5_K;
static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes");

/* Q6_K: 256 elements in 16 sub-blocks of 16, 6-bit q stored as q + 32
 * (0..63), signed 8-bit scales:  x = d * scales[sub] * (u - 32).
 *
 * Two halves of 128 elements; half h uses ql[64h..64h+63],
 * qh[32h..32h+31] and scales[8h..8h+7]. Within a half, for l = 0..31 the
 * four elements l, l+32, l+64, l+96 share qh[l]:
 *
 *   element     low 4 bits          high 2 bits       scale
 *   l           ql[l]      & 15     qh[l] bits 1..0   scales[l/16]
 *   l + 32      ql[l + 32] & 15     qh[l] bits 3..2   scales[l/16 + 2]
 *   l + 64      ql[l]      >> 4     qh[l] bits 5..4   scales[l/16 + 4]
 *   l + 96      ql[l + 32] >> 4     qh[l] bits 7..6   scales[l/16 + 6]
 *
 * which amounts to: element e of the half has scale index e / 16.
 */
typedef struct {
    uint8_t ql[QK_K / 2];     /* (128) low four bits */
    uint8_t qh[QK_K / 4];     /* (64) high two bits */
    int8_t scales[QK_K / 16]; /* (16) sub-block scales */
    uint16_t d;               /* fp16 super-block scale */
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes");

/* Row conversions. n is the element count and a multiple of the type's block
 * size (the caller checks); x and y do not overlap. Quantizers write n / block
 * blocks, dequantizers n floats. They cannot fail. */
void glimp_quantize_row_f16_ref(const float *x, uint16_t *y, uint64_t n);
void glimp_dequantize_row_f16_ref(const uint16_t *x, float *y, uint64_t n);
void glimp_quantize_row_bf16_ref(const float *x, uint16_t *y, uint64_t n);
void glimp_dequantize_row_bf16_ref(const uint16_t *x, float *y, uint64_t n);

void glimp_quantize_row_q8_0_ref(const float *x, block_q8_0 *y, uint64_t n);
void glimp_dequantize_row_q8_0_ref(const block_q8_0 *x, float *y, uint64_t n);
void glimp_quantize_row_q4_0_ref(const float *x, block_q4_0 *y, uint64_t n);
void glimp_dequantize_row_q4_0_ref(const block_q4_0 *x, float *y, uint64_t n);
void glimp_quantize_row_q5_0_ref(const float *x, block_q5_0 *y, uint64_t n);
void glimp_dequantize_row_q5_0_ref(const block_q5_0 *x, float *y, uint64_t n);
void glimp_quantize_row_q5_1_ref(const float *x, block_q5_1 *y, uint64_t n);
void glimp_dequantize_row_q5_1_ref(const block_q5_1 *x, float *y, uint64_t n);
void glimp_quantize_row_q4_K_ref(const float *x, block_q4_K *y, uint64_t n);
void glimp_dequantize_row_q4_K_ref(const block_q4_K *x, float *y, uint64_t n);
void glimp_quantize_row_q5_K_ref(const float *x, block_q5_K *y, uint64_t n);
void glimp_dequantize_row_q5_K_ref(const block_q5_K *x, float *y, uint64_t n);
void glimp_quantize_row_q6_K_ref(const float *x, block_q6_K *y, uint64_t n);
void glimp_dequantize_row_q6_K_ref(const block_q6_K *x, float *y, uint64_t n);

#endif
