/* kern_check.c - a kernel table's self-check: small products of every type
 * it computes, its quantizers, attention and SiLU against the scalar table,
 * bit for bit. Run once before a native SIMD table is first handed out, so
 * that a kernel bug on a CPU the tests never ran on falls back instead of
 * giving wrong numbers. */
#include "core/error.h"
#include "kernels/kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CK_OUT 5  /* rows: a tile of 4 or 2 and one left over */
#define CK_TOK 11 /* tokens: a tile of 8, one of 2 or 4, and ones left over */

/* Deterministic values in about [-2, 2], every 13th one larger. */
static float ck_value(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    float v = (float)(int32_t)(*s >> 8 & 0xffff) / 16384.0f - 2.0f;
    return *s % 13 == 0 ? 4.0f * v : v;
}

static int ck_fail(const struct glimp_kernels *k, const char *what, uint32_t type)
{
    const struct glimp_type_info *ti = glimp_type_info(type);
    return glimp_error(GLIMP_ERR_UNSUPPORTED, "%s differs from the scalar table in %s%s%s", k->name,
                       what, ti ? " of " : "", ti ? ti->name : "");
}

/* One weight type: CK_OUT rows times CK_TOK tokens, and one token alone. */
static int ck_type(const struct glimp_kernels *k, uint32_t type)
{
    const struct glimp_type_info *ti = glimp_type_info(type);
    uint32_t n = ti->block_size == 1 ? 75 : ti->block_size == 32 ? 96 : 512;
    uint64_t rb = 0;
    if (glimp_type_nbytes(type, n, &rb) != GLIMP_OK)
        return ck_fail(k, "the size of a row", type);
    enum glimp_act fk, fs;
    glimp_mm_fn mk = glimp_kernels_mm(k, type, &fk),
                ms = glimp_kernels_mm(&glimp_kernels_scalar, type, &fs);
    if (fk != fs)
        return ck_fail(k, "the activation format", type);
    size_t xs = fk == GLIMP_ACT_F32 ? n * sizeof(float) : glimp_act_row_bytes(fk, n);
    xs = (xs + 63) & ~(size_t)63;
    float *xf = malloc((size_t)n * CK_TOK * sizeof *xf);
    uint8_t *w = malloc(rb * CK_OUT);
    char *xk = aligned_alloc(64, xs * CK_TOK), *xsc = aligned_alloc(64, xs * CK_TOK);
    float *yk = malloc(CK_OUT * CK_TOK * sizeof *yk), *ys = malloc(CK_OUT * CK_TOK * sizeof *ys);
    int rc = GLIMP_OK;
    if (!xf || !w || !xk || !xsc || !yk || !ys) {
        rc = glimp_error(GLIMP_ERR_NOMEM, "kernel self-check: out of memory");
        goto out;
    }
    uint32_t s = 12345u + type;
    for (size_t i = 0; i < (size_t)n * CK_TOK; i++)
        xf[i] = ck_value(&s);
    for (uint32_t r = 0; r < CK_OUT; r++) {
        float row[512];
        for (uint32_t i = 0; i < n; i++)
            row[i] = ck_value(&s);
        if (glimp_quantize((enum glimp_type)type, row, w + r * rb, n) != GLIMP_OK) {
            rc = ck_fail(k, "quantizing weights", type);
            goto out;
        }
    }
    memset(xk, 0, xs * CK_TOK);
    memset(xsc, 0, xs * CK_TOK);
    for (uint32_t t = 0; t < CK_TOK; t++) {
        if (fk == GLIMP_ACT_F32) {
            memcpy(xk + t * xs, xf + (size_t)t * n, n * sizeof *xf);
            memcpy(xsc + t * xs, xf + (size_t)t * n, n * sizeof *xf);
        } else {
            k->quantize[fk](xf + (size_t)t * n, xk + t * xs, n);
            glimp_kernels_scalar.quantize[fk](xf + (size_t)t * n, xsc + t * xs, n);
        }
    }
    if (memcmp(xk, xsc, xs * CK_TOK) != 0) {
        rc = ck_fail(k, "the quantized activations", type);
        goto out;
    }
    struct glimp_wmat m = {.data = w, .type = type, .n_in = n, .n_out = CK_OUT, .row_bytes = rb};
    mk(&m, 0, CK_OUT, xk, xs, CK_TOK, yk, CK_OUT);
    ms(&m, 0, CK_OUT, xsc, xs, CK_TOK, ys, CK_OUT);
    if (memcmp(yk, ys, CK_OUT * CK_TOK * sizeof *yk) != 0) {
        rc = ck_fail(k, "a product of several tokens", type);
        goto out;
    }
    mk(&m, 0, CK_OUT, xk, xs, 1, yk, CK_OUT);
    if (memcmp(yk, ys, CK_OUT * sizeof *yk) != 0)
        rc = ck_fail(k, "a product of one token", type);
out:
    free(xf), free(w), free(xk), free(xsc), free(yk), free(ys);
    return rc;
}

int glimp_kernels_selfcheck(const struct glimp_kernels *k)
{
    return glimp_kernels_selfcheck_except(k, GLIMP_TYPE_COUNT);
}

int glimp_kernels_selfcheck_except(const struct glimp_kernels *k, uint32_t skip)
{
    for (uint32_t type = 0; type < GLIMP_TYPE_COUNT; type++) {
        int rc;
        if (type != skip && k->matmul[type] && (rc = ck_type(k, type)) != GLIMP_OK)
            return rc;
    }
    /* attention over 13 positions of 64 (k and v rows interleaved) */
    enum { HD = 64, NPOS = 13, STRIDE = 2 * HD };
    float kv[NPOS * STRIDE], q[HD], sc[NPOS], ok[HD], os[HD], g[37], g2[37], u[37];
    uint32_t s = 777u;
    for (size_t i = 0; i < NPOS * STRIDE; i++)
        kv[i] = ck_value(&s);
    for (size_t i = 0; i < HD; i++)
        q[i] = ck_value(&s);
    k->attn(q, 1, kv, kv + HD, STRIDE, NPOS, HD, sc, ok);
    glimp_kernels_scalar.attn(q, 1, kv, kv + HD, STRIDE, NPOS, HD, sc, os);
    if (memcmp(ok, os, sizeof ok) != 0)
        return ck_fail(k, "attention", GLIMP_TYPE_COUNT);
    for (size_t i = 0; i < 37; i++)
        g[i] = g2[i] = 3.0f * ck_value(&s), u[i] = ck_value(&s);
    k->silu_mul(g, u, 37);
    glimp_kernels_scalar.silu_mul(g2, u, 37);
    if (memcmp(g, g2, sizeof g) != 0)
        return ck_fail(k, "SiLU", GLIMP_TYPE_COUNT);
    return GLIMP_OK;
}
