/* kernels.c - which kernel table runs: the CPU's features, read once, and
 * the model's kernels parameter, resolved at load. */
#include "kernels/kernels.h"
#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <pthread.h>

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
#endif

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
#endif
    return NULL;
}

const struct glimp_kernels *glimp_kernels_best(void)
{
#if defined(__x86_64__)
    const struct glimp_kernels *k;
    if ((k = glimp_kernels_by_name("avxvnni")) != NULL || (k = glimp_kernels_by_name("avx2")))
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
    static const char *const known[] = {"ref", "scalar", "avx2", "avxvnni"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i]))
            return glimp_error(GLIMP_ERR_UNSUPPORTED,
                               "kernels '%s': this CPU (or this build) cannot run them", name);
    return glimp_error(GLIMP_ERR_INVALID,
                       "kernels '%.64s' unknown (known: auto, ref, scalar, avx2, avxvnni)", name);
}
