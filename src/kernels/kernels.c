/* kernels.c - which kernel table runs: the CPU's features, read once, and
 * the model's kernels parameter, resolved at load. */
#define _DEFAULT_SOURCE /* syscall(): Linux's permission for AMX tile data */
#include "kernels/kernels.h"
#include "core/error.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <pthread.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static bool have_avx2, have_avxvnni;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

/* AVX2 and FMA through the compiler's CPU model (which also checks that
 * the OS saves the YMM registers); F16C and AVX-VNNI from CPUID, which not
 * every compiler's __builtin_cpu_supports knows. */
static void detect_cpu(void)
{
    __builtin_cpu_init();
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    unsigned a, b, c, d;
    bool f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
    have_avx2 = avx2 && f16c;
    have_avxvnni = have_avx2 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
}

#ifdef GLIMP_KERNELS_AMX
static const char *amx_why = "not checked"; /* NULL: the amx table runs here */
static char amx_why_buf[256];
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* CPUID: AMX-TILE, AMX-INT8 and the AVX-512 subsets the table uses; XCR0:
 * the OS saves the ZMM state (bits 5..7) and the tile state (17, 18); then
 * Linux's permission to use the tile data, asked once for the process;
 * then the self-check. The first that fails says why in amx_why. */
static void detect_amx(void)
{
    pthread_once(&cpu_once, detect_cpu);
    unsigned a, b, c, d;
    if (!have_avx2 || !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) ||
        !(d & (1u << 25))) {
        amx_why = "this CPU has no AMX-INT8";
        return;
    }
    if (!(b & (1u << 16)) || !(b & (1u << 30)) || !(b & (1u << 31)) || !(c & (1u << 11))) {
        amx_why = "this CPU lacks AVX-512 F, BW, VL or VNNI";
        return;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) {
        amx_why = "the OS does not enable XSAVE";
        return;
    }
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    unsigned need = (1u << 1) | (1u << 2) | (7u << 5) | (3u << 17);
    if ((lo & need) != need) {
        amx_why = "the OS does not save the AVX-512 or AMX tile state (XCR0)";
        return;
    }
#if defined(__linux__)
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) {
        amx_why = "Linux refused the AMX tile data permission (arch_prctl "
                  "ARCH_REQ_XCOMP_PERM; kernel 5.16 or later needed)";
        return;
    }
#else
    amx_why = "the AMX tile data permission is only asked for on Linux";
    return;
#endif
    char why[200];
    if (glimp_kernels_amx_check(why, sizeof why) != 0) {
        snprintf(amx_why_buf, sizeof amx_why_buf, "its self-check failed on this CPU: %s", why);
        amx_why = amx_why_buf;
        /* The one line the library writes itself: a table that computes
         * wrong numbers here is a bug to report, and falling back without
         * a word would hide it behind a slower run. */
        fprintf(stderr, "glimp: kernels 'amx' not used: %s\n", amx_why);
        return;
    }
    amx_why = NULL;
}
#endif
#endif

static _Atomic(const struct glimp_kernels *) extra_table;

void glimp_kernels_set_extra(const struct glimp_kernels *k)
{
    atomic_store(&extra_table, k);
}

const struct glimp_kernels *glimp_kernels_by_name(const char *name)
{
    if (!name)
        return NULL;
    if (!strcmp(name, "ref"))
        return &glimp_kernels_ref;
    if (!strcmp(name, "scalar"))
        return &glimp_kernels_scalar;
#if defined(__x86_64__)
    if (!strcmp(name, "avx2")) {
        pthread_once(&cpu_once, detect_cpu);
        return have_avx2 ? &glimp_kernels_avx2 : NULL;
    }
#ifdef GLIMP_KERNELS_AVXVNNI
    if (!strcmp(name, "avxvnni")) {
        pthread_once(&cpu_once, detect_cpu);
        return have_avxvnni ? &glimp_kernels_avxvnni : NULL;
    }
#endif
#ifdef GLIMP_KERNELS_AMX
    if (!strcmp(name, "amx")) {
        pthread_once(&amx_once, detect_amx);
        return amx_why ? NULL : &glimp_kernels_amx;
    }
#endif
#endif
    const struct glimp_kernels *k = atomic_load(&extra_table);
    if (k && !strcmp(name, k->name))
        return k;
    return NULL;
}

const struct glimp_kernels *glimp_kernels_best(void)
{
#if defined(__x86_64__)
    const struct glimp_kernels *k;
    if ((k = glimp_kernels_by_name("amx")) != NULL ||
        (k = glimp_kernels_by_name("avxvnni")) != NULL || (k = glimp_kernels_by_name("avx2")))
        return k;
#endif
    return &glimp_kernels_scalar;
}

int glimp_kernels_resolve(const char *name, const struct glimp_kernels **out)
{
    if (!name || !strcmp(name, "auto")) {
        *out = glimp_kernels_best();
        return GLIMP_OK;
    }
    if ((*out = glimp_kernels_by_name(name)) != NULL)
        return GLIMP_OK;
#if defined(__x86_64__) && defined(GLIMP_KERNELS_AMX)
    if (!strcmp(name, "amx"))
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "kernels 'amx': %s", amx_why);
#endif
    static const char *const known[] = {"ref", "scalar", "avx2", "avxvnni", "amx"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i]))
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "kernels '%s': this CPU (or this build) cannot run them", name);
    return glimp_error(GLIMP_ERR_INVALID,
                       "kernels '%.64s' unknown (known: auto, ref, scalar, avx2, avxvnni, amx)",
                       name);
}
