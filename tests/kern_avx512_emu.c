/* kern_avx512_emu.c - the avx512 kernel table compiled over SIMDe's
 * portable AVX-512 (Debian's libsimde-dev) as "avx512-emulated", so that
 * the tests hold its logic to the scalar table on every machine, AVX-512
 * or not. Linked only into the tests. */
#include "simde_avx512.h"

#define GLIMP_AVX512_EMULATE 1
#include "kernels/kern_avx512.c"
