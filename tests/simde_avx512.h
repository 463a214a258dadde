/* simde_avx512.h - SIMDe's portable AVX-512 (Debian's libsimde-dev) for
 * the emulated kernel tables of the tests (kern_avx512_emu.c,
 * kern_amx_emu.c), with what SIMDe 0.7 lacks or computes otherwise than
 * the hardware written here: vfmadd with one rounding (SIMDe rounds the
 * product too), vcvtdq2ps and vcvtph2ps on 512 bits (missing), and
 * _mm512_madd_epi16 (its alias takes the masked form's arguments). */
#ifndef GLIMP_TESTS_SIMDE_AVX512_H
#define GLIMP_TESTS_SIMDE_AVX512_H

#define SIMDE_ENABLE_NATIVE_ALIASES
#define SIMDE_NO_INLINE /* compiled once each: minutes less to build */
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>

#include "glimp.h"

#include <math.h>
#include <stdint.h>

#undef _mm512_madd_epi16
#define _mm512_madd_epi16 simde_mm512_madd_epi16

static inline simde__m512 emu_mm512_fmadd_ps(simde__m512 a, simde__m512 b, simde__m512 c)
{
    float fa[16], fb[16], fc[16];
    simde_mm512_storeu_ps(fa, a);
    simde_mm512_storeu_ps(fb, b);
    simde_mm512_storeu_ps(fc, c);
    for (int i = 0; i < 16; i++)
        fc[i] = fmaf(fa[i], fb[i], fc[i]);
    return simde_mm512_loadu_ps(fc);
}
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps emu_mm512_fmadd_ps

/* int32 to float, round to nearest even */
static inline simde__m512 emu_mm512_cvtepi32_ps(simde__m512i a)
{
    int32_t ia[16];
    float f[16];
    simde_mm512_storeu_si512(ia, a);
    for (int i = 0; i < 16; i++)
        f[i] = (float)ia[i];
    return simde_mm512_loadu_ps(f);
}
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps emu_mm512_cvtepi32_ps

/* 16 halves to floats, exact */
static inline simde__m512 emu_mm512_cvtph_ps(simde__m256i a)
{
    uint16_t h[16];
    float f[16];
    simde_mm256_storeu_si256(h, a);
    for (int i = 0; i < 16; i++)
        f[i] = glimp_fp16_to_fp32(h[i]);
    return simde_mm512_loadu_ps(f);
}
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps emu_mm512_cvtph_ps

#endif
