/* fp16.c - conversions between float and IEEE half / bfloat16 in portable
 * integer code: round to nearest, ties to even; infinities, signed zeros and
 * subnormals exact; NaN stays NaN (narrowing sets the quiet bit so that a
 * payload held only in dropped bits cannot turn into infinity). */
#include "glimp.h"

#include <string.h>

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* value >> shift (1 <= shift <= 31) rounded to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t value, unsigned shift)
{
    uint32_t kept = value >> shift;
    uint32_t rest = value & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1)))
        kept++;
    return kept;
}

/* Half layout: sign (1) | exponent (5, bias 15) | mantissa (10).
 * Float layout: sign (1) | exponent (8, bias 127) | mantissa (23). */
uint16_t glimp_fp32_to_fp16(float x)
{
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffff;

    if (a > 0x7f800000) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    /* 65520 = 65504 + half an ulp: from here on (ties to the even 0x7c00)
     * the result is infinity, which also covers a float infinity. */
    if (a >= 0x477ff000)
        return (uint16_t)(sign | 0x7c00);
    if (a < 0x38800000) {
        /* Below 2^-14, the smallest normal half: the result is a subnormal
         * m * 2^-24. With the implicit bit, x = mant * 2^(e - 150), so
         * m = mant * 2^(e - 126): a right shift by 126 - e (>= 14). */
        uint32_t e = a >> 23;
        if (e < 102) /* x < 2^-25: rounds to zero (2^-25 itself is a tie to 0) */
            return sign;
        uint32_t mant = (a & 0x7fffff) | 0x800000;
        /* m may round up to 1024, which is exactly the smallest normal. */
        return (uint16_t)(sign | shift_round_even(mant, 126 - e));
    }
    /* Normal: rebias the exponent (127 -> 15 is -112 << 23) and drop 13
     * mantissa bits; a carry out of the mantissa bumps the exponent, which
     * is the right result (up to 0x7bff, as overflow was handled above). */
    return (uint16_t)(sign | shift_round_even(a - 0x38000000, 13));
}

float glimp_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;

    if (exp == 0x1f) /* infinity, or NaN with its payload kept */
        return f32_from_bits(sign | 0x7f800000 | (man << 13));
    if (exp == 0) {
        /* Zero or subnormal man * 2^-24: exact in float. */
        float v = (float)man * 0x1p-24f;
        return f32_from_bits(sign | f32_bits(v));
    }
    return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

/* bfloat16 is the top half of a float. */
uint16_t glimp_fp32_to_bf16(float x)
{
    uint32_t u = f32_bits(x);
    if ((u & 0x7fffffff) > 0x7f800000) /* NaN: keep it one, and quiet */
        return (uint16_t)((u >> 16) | 0x0040);
    /* Adding 0x7fff plus the lowest kept bit rounds ties to even; a carry
     * into the exponent is correct, up to and including infinity. */
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float glimp_bf16_to_fp32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}
