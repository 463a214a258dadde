/* amx_emu.h - the instructions src/kernels/kern_amx.c uses, for machines
 * without them (tests only): AVX-512 from SIMDe (simde_avx512.h), and the
 * AMX tile instructions emulated after Intel's manual on a per-thread
 * register file. Each emulated tile
 * instruction checks its operands against the loaded configuration and
 * aborts on a misuse (no configuration in this thread, a shape the
 * instruction does not allow), which real hardware would fault on. */
#ifndef GLIMP_TESTS_AMX_EMU_H
#define GLIMP_TESTS_AMX_EMU_H

#include "simde_avx512.h"

#include "glimp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ AMX */

/* LDTILECFG's 64 bytes: byte 0 palette, byte 1 start_row, bytes 16..47
 * colsb[16] (little-endian uint16), bytes 48..63 rows[16]. */
struct emu_tiles {
    int configured;
    uint16_t colsb[8];
    uint8_t rows[8];
    uint8_t t[8][16][64];
};
static _Thread_local struct emu_tiles emu_amx;

static inline void emu_fail(const char *what)
{
    fprintf(stderr, "amx emulation: %s\n", what);
    abort();
}

static inline void _tile_loadconfig(const void *cfg)
{
    const uint8_t *c = cfg;
    if (c[0] != 1)
        emu_fail("palette other than 1");
    if (c[1] != 0)
        emu_fail("start_row not 0");
    memset(&emu_amx, 0, sizeof emu_amx);
    for (int i = 0; i < 8; i++) {
        uint16_t cb = (uint16_t)(c[16 + 2 * i] | c[17 + 2 * i] << 8);
        uint8_t r = c[48 + i];
        if (cb > 64 || r > 16 || (cb == 0) != (r == 0))
            emu_fail("tile shape out of palette 1's limits");
        emu_amx.colsb[i] = cb;
        emu_amx.rows[i] = r;
    }
    for (int i = 8; i < 16; i++)
        if (c[16 + 2 * i] | c[17 + 2 * i] | c[48 + i])
            emu_fail("tiles 8..15 configured");
    emu_amx.configured = 1;
}

static inline void _tile_release(void)
{
    memset(&emu_amx, 0, sizeof emu_amx);
}

static inline void emu_tile_check(int t)
{
    if (!emu_amx.configured)
        emu_fail("tile instruction without a configuration in this thread");
    if (t < 0 || t > 7 || !emu_amx.rows[t])
        emu_fail("tile not configured");
}

/* TILELOADD: row r from base + r * stride, colsb bytes; the rest zero. */
static inline void emu_tile_loadd(int t, const void *base, long stride)
{
    emu_tile_check(t);
    memset(emu_amx.t[t], 0, sizeof emu_amx.t[t]);
    for (int r = 0; r < emu_amx.rows[t]; r++)
        memcpy(emu_amx.t[t][r], (const char *)base + (long)r * stride, emu_amx.colsb[t]);
}
#define _tile_loadd(t, base, stride) emu_tile_loadd(t, base, (long)(stride))

static inline void emu_tile_stored(int t, void *base, long stride)
{
    emu_tile_check(t);
    for (int r = 0; r < emu_amx.rows[t]; r++)
        memcpy((char *)base + (long)r * stride, emu_amx.t[t][r], emu_amx.colsb[t]);
}
#define _tile_stored(t, base, stride) emu_tile_stored(t, base, (long)(stride))

static inline void emu_tile_zero(int t)
{
    emu_tile_check(t);
    memset(emu_amx.t[t], 0, sizeof emu_amx.t[t]);
}
#define _tile_zero(t) emu_tile_zero(t)

/* TDPBSSD: C[m][n] += sum over k < colsb(A) / 4 and i < 4 of
 * A[m][4k + i] * B[k][4n + i], signed bytes, int32 wrapping. Shapes:
 * rows(A) = rows(C), colsb(A) = 4 rows(B), colsb(B) = colsb(C). */
static inline void emu_tile_dpbssd(int c, int a, int b)
{
    emu_tile_check(c), emu_tile_check(a), emu_tile_check(b);
    if (c == a || c == b || a == b)
        emu_fail("tdpbssd with a tile twice");
    int M = emu_amx.rows[c], N = emu_amx.colsb[c] / 4, K = emu_amx.colsb[a] / 4;
    if (emu_amx.rows[a] != M || emu_amx.rows[b] != K || emu_amx.colsb[b] != emu_amx.colsb[c] ||
        emu_amx.colsb[a] % 4 || emu_amx.colsb[c] % 4)
        emu_fail("tdpbssd shapes do not fit");
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int32_t acc;
            memcpy(&acc, &emu_amx.t[c][m][4 * n], 4);
            uint32_t u = (uint32_t)acc;
            for (int k = 0; k < K; k++)
                for (int i = 0; i < 4; i++)
                    u += (uint32_t)((int8_t)emu_amx.t[a][m][4 * k + i] *
                                    (int8_t)emu_amx.t[b][k][4 * n + i]);
            acc = (int32_t)u;
            memcpy(&emu_amx.t[c][m][4 * n], &acc, 4);
        }
}
#define _tile_dpbssd(c, a, b) emu_tile_dpbssd(c, a, b)

#endif
