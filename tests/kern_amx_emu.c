/* kern_amx_emu.c - the amx kernel table compiled again on emulated AMX and
 * SIMDe's AVX-512 (tests/amx_emu.h): the table "amx-emulated", which the
 * tests run on every machine, bit for bit the code of the native one. */
/* SIMDe's 512-bit vector types pass by value between functions compiled
 * without AVX-512: the ABI note concerns code that only this file calls. */
#pragma GCC diagnostic ignored "-Wpsabi"

#include "kern_amx_emu.h"
#include "amx_emu.h"

#define GLIMP_AMX_EMULATED 1
#include "kernels/kern_amx.c"
