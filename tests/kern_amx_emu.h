/* kern_amx_emu.h - the emulated amx table (tests/kern_amx_emu.c) and its
 * self-check, for the tests that run it. */
#ifndef GLIMP_TESTS_KERN_AMX_EMU_H
#define GLIMP_TESTS_KERN_AMX_EMU_H

#include "kernels/kernels.h"

extern const struct glimp_kernels glimp_kernels_amx_emulated;
int glimp_kernels_amx_emulated_check(char *why, size_t why_size);

#endif
