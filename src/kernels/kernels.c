/* kernels.c - which kernel table runs: the CPU's features, read once (and,
 * for AMX, Linux's permission to use the tile data), the choice among the
 * tables it can run (a pure function of the features), each native table's
 * self-check, and the model's kernels parameter, resolved at load. */
#define _DEFAULT_SOURCE /* syscall(): arch_prctl for the AMX tile data */
#include "kernels/kernels.h"
#include "core/error.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

#define NEED_AVX2 (GLIMP_CPU_AVX2 | GLIMP_CPU_FMA | GLIMP_CPU_F16C | GLIMP_CPU_OS_YMM)
#define NEED_AVX512                                                                                \
    (NEED_AVX2 | GLIMP_CPU_AVX512F | GLIMP_CPU_AVX512BW | GLIMP_CPU_AVX512VL |                     \
     GLIMP_CPU_AVX512VNNI | GLIMP_CPU_OS_ZMM)
#define NEED_AMX                                                                                   \
    (NEED_AVX512 | GLIMP_CPU_AMX_TILE | GLIMP_CPU_AMX_INT8 | GLIMP_CPU_OS_TILE |                   \
     GLIMP_CPU_OS_TILE_PERM)

/* The names of the feature bits, in the order a missing one is reported. */
static const struct {
    uint32_t bit;
    const char *name;
} feature_names[] = {
    {GLIMP_CPU_AVX2, "avx2"},
    {GLIMP_CPU_FMA, "fma"},
    {GLIMP_CPU_F16C, "f16c"},
    {GLIMP_CPU_OS_YMM, "OS support for AVX state (XCR0 bits 1, 2)"},
    {GLIMP_CPU_AVXVNNI, "avxvnni"},
    {GLIMP_CPU_AVX512F, "avx512f"},
    {GLIMP_CPU_AVX512BW, "avx512bw"},
    {GLIMP_CPU_AVX512VL, "avx512vl"},
    {GLIMP_CPU_AVX512VNNI, "avx512vnni"},
    {GLIMP_CPU_OS_ZMM, "OS support for AVX-512 state (XCR0 bits 5, 6, 7)"},
    {GLIMP_CPU_AMX_TILE, "amx-tile"},
    {GLIMP_CPU_AMX_INT8, "amx-int8"},
    {GLIMP_CPU_OS_TILE, "OS support for AMX tile state (XCR0 bits 17, 18)"},
    {GLIMP_CPU_OS_TILE_PERM, "Linux's permission for the AMX tile data (arch_prctl "
                             "ARCH_REQ_XCOMP_PERM, Linux 5.16 or later)"},
};

#ifdef GLIMP_KERNELS_AMX
/* amx: its Q8_0 products against the amx numerics in plain C (they are not
 * scalar's), every other type, the quantizers, attention and SiLU against
 * scalar. */
static int amx_selfcheck(const struct glimp_kernels *k)
{
    char why[200];
    if (glimp_kernels_amx_check(why, sizeof why) != 0)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "kernels 'amx': Q8_0: %s", why);
    return glimp_kernels_selfcheck_except(k, GLIMP_TYPE_Q8_0);
}
#endif

/* The tables in order of preference (each by its own name), the features
 * each needs and its self-check; the last, "scalar", needs none. */
static const struct native {
    const struct glimp_kernels *k;
    uint32_t needs;
    int (*check)(const struct glimp_kernels *k);
} natives[] = {
#if defined(__x86_64__)
#ifdef GLIMP_KERNELS_AMX
    {&glimp_kernels_amx, NEED_AMX, amx_selfcheck},
#endif
    {&glimp_kernels_avx512, NEED_AVX512, glimp_kernels_selfcheck},
#ifdef GLIMP_KERNELS_AVXVNNI
    {&glimp_kernels_avxvnni, NEED_AVX2 | GLIMP_CPU_AVXVNNI, glimp_kernels_selfcheck},
#endif
    {&glimp_kernels_avx2, NEED_AVX2, glimp_kernels_selfcheck},
#endif
    {&glimp_kernels_scalar, 0, NULL},
};
#define N_NATIVE (sizeof natives / sizeof natives[0])

/* Present only in the programs that link tests/kern_avx512_emu.c and
 * tests/kern_amx_emu.c. */
extern const struct glimp_kernels glimp_kernels_avx512_emulated __attribute__((weak));
extern const struct glimp_kernels glimp_kernels_amx_emulated __attribute__((weak));

/* The tables only the tests link: their names, and the table where this
 * program has it (NULL where not). */
static const struct {
    const char *name;
    const struct glimp_kernels *k;
} emulated[] = {
    {"avx512-emulated", &glimp_kernels_avx512_emulated},
    {"amx-emulated", &glimp_kernels_amx_emulated},
};

/* The entry of emulated[] named name; NULL for none. */
static const struct glimp_kernels *const *emulated_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof emulated / sizeof emulated[0]; i++)
        if (!strcmp(name, emulated[i].name))
            return &emulated[i].k;
    return NULL;
}

static const struct native *native_by_name(const char *name)
{
    for (size_t i = 0; i < N_NATIVE; i++)
        if (!strcmp(natives[i].k->name, name))
            return &natives[i];
    return NULL;
}

const char *glimp_kernels_missing(const char *name, uint32_t features)
{
    const struct native *n = name ? native_by_name(name) : NULL;
    if (!n)
        return NULL;
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++)
        if ((n->needs & feature_names[i].bit) && !(features & feature_names[i].bit))
            return feature_names[i].name;
    return NULL;
}

const char *glimp_kernels_pick(uint32_t features)
{
    size_t i = 0;
    while ((natives[i].needs & features) != natives[i].needs)
        i++; /* stops at "scalar" */
    return natives[i].k->name;
}

/* ------------------------------------------------------- the CPU, once */

static uint32_t cpu_features;
static bool native_failed[N_NATIVE]; /* by the self-check */
static char failed_why[N_NATIVE][160];
static char note[512]; /* glimp_kernels_note */
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* Linux keeps the AMX tile data (8 KiB a thread) off until a process asks
 * for it, once: GLIMP_CPU_OS_TILE_PERM when granted, asked only where the
 * CPU and XCR0 have AMX. */
static uint32_t amx_permission(uint32_t f)
{
    uint32_t amx = GLIMP_CPU_AMX_TILE | GLIMP_CPU_AMX_INT8 | GLIMP_CPU_OS_TILE;
    if ((f & amx) != amx)
        return 0;
#if defined(__linux__)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0)
        return GLIMP_CPU_OS_TILE_PERM;
#endif
    return 0;
}

/* From CPUID and XCR0 directly rather than __builtin_cpu_supports, which
 * does not know every bit here in every compiler (AVX-VNNI). (GCC 12's
 * libgcc and clang's compiler-rt do check XCR0 for AVX and AVX-512 too.) */
static uint32_t detect_cpu(void)
{
    unsigned a, b, c, d;
    uint32_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    f |= c & (1u << 12) ? GLIMP_CPU_FMA : 0;
    f |= c & (1u << 29) ? GLIMP_CPU_F16C : 0;
    if (c & (1u << 27)) { /* OSXSAVE: xgetbv may be used */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        (void)hi;
        f |= (lo & 0x06) == 0x06 ? GLIMP_CPU_OS_YMM : 0;
        f |= (lo & 0xe6) == 0xe6 ? GLIMP_CPU_OS_ZMM : 0;
        f |= (lo & 0x60000) == 0x60000 ? GLIMP_CPU_OS_TILE : 0;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f |= b & (1u << 5) ? GLIMP_CPU_AVX2 : 0;
        f |= b & (1u << 16) ? GLIMP_CPU_AVX512F : 0;
        f |= b & (1u << 30) ? GLIMP_CPU_AVX512BW : 0;
        f |= b & (1u << 31) ? GLIMP_CPU_AVX512VL : 0;
        f |= c & (1u << 11) ? GLIMP_CPU_AVX512VNNI : 0;
        f |= d & (1u << 24) ? GLIMP_CPU_AMX_TILE : 0;
        f |= d & (1u << 25) ? GLIMP_CPU_AMX_INT8 : 0;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d))
        f |= a & (1u << 4) ? GLIMP_CPU_AVXVNNI : 0;
    return f | amx_permission(f);
}
#else
static uint32_t detect_cpu(void)
{
    return 0;
}
#endif

/* Features, then the self-check of every native SIMD table they allow: a
 * table that computes other numbers than it should (a kernel bug on a CPU
 * we could not test) is never handed out, glimp_kernels_best falls back to
 * the next table, and glimp_kernels_note says so for the programs to show. */
static void init_once(void)
{
    cpu_features = detect_cpu();
    size_t len = 0;
    for (size_t i = 0; i < N_NATIVE; i++) {
        const struct native *n = &natives[i];
        if (!n->needs || (n->needs & cpu_features) != n->needs)
            continue;
        if (n->check(n->k) != GLIMP_OK) {
            native_failed[i] = true;
            snprintf(failed_why[i], sizeof failed_why[i], "%s", glimp_last_error());
            int w = snprintf(note + len, sizeof note - len,
                             "%skernels '%s' failed their self-check on this CPU (%s): not used",
                             len ? "; " : "", n->k->name, failed_why[i]);
            len = w < 0 ? len : len + (size_t)w < sizeof note ? len + (size_t)w : sizeof note - 1;
        }
    }
}

const char *glimp_kernels_note(void)
{
    pthread_once(&cpu_once, init_once);
    return note;
}

uint32_t glimp_kernels_cpu_features(void)
{
    pthread_once(&cpu_once, init_once);
    return cpu_features;
}

const struct glimp_kernels *glimp_kernels_by_name(const char *name)
{
    if (!name)
        return NULL;
    if (!strcmp(name, "ref"))
        return &glimp_kernels_ref;
    const struct glimp_kernels *const *e = emulated_by_name(name);
    if (e)
        return *e;
    const struct native *n = native_by_name(name);
    if (!n)
        return NULL;
    uint32_t f = glimp_kernels_cpu_features();
    if ((n->needs & f) != n->needs || native_failed[n - natives])
        return NULL;
    return n->k;
}

const struct glimp_kernels *glimp_kernels_best(void)
{
    uint32_t f = glimp_kernels_cpu_features();
    for (size_t i = 0; i < N_NATIVE; i++)
        if ((natives[i].needs & f) == natives[i].needs && !native_failed[i])
            return natives[i].k;
    return &glimp_kernels_scalar; /* not reached: "scalar" needs nothing */
}

int glimp_kernels_resolve(const char *name, const struct glimp_kernels **out)
{
    if (!name || !strcmp(name, "auto")) {
        *out = glimp_kernels_best();
        return GLIMP_OK;
    }
    if ((*out = glimp_kernels_by_name(name)) != NULL)
        return GLIMP_OK;
    const struct native *n = native_by_name(name);
    const char *missing = glimp_kernels_missing(name, glimp_kernels_cpu_features());
    if (missing)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "kernels '%s': this CPU lacks %s", name, missing);
    if (n)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "kernels '%s' failed their self-check: %s", name,
                           failed_why[n - natives]);
    if (emulated_by_name(name))
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "kernels '%s': not in this program (only tests built with SIMDe "
                           "have them)",
                           name);
    static const char *const known[] = {"ref", "scalar", "avx2", "avxvnni", "avx512", "amx"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i]))
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "kernels '%s': this CPU (or this build) cannot run them", name);
    return glimp_error(GLIMP_ERR_INVALID,
                       "kernels '%.64s' unknown (known: auto, ref, scalar, avx2, avxvnni, avx512, "
                       "amx)",
                       name);
}
