/* types.c - the table of tensor types GGUF files use: name, block size and
 * bytes per block for every ggml type value, and whether glimp computes with
 * it. Sizes are those of ggml's block structs, so files agree byte for byte. */
#include "core/error.h"

#include <stddef.h>

#define T(id, nm, blk, sz, ok)                                                                     \
    [id] = {.name = nm, .block_size = blk, .type_size = sz, .supported = ok}

static const struct glimp_type_info type_table[GLIMP_TYPE_COUNT] = {
    T(GLIMP_TYPE_F32, "F32", 1, 4, true),
    T(GLIMP_TYPE_F16, "F16", 1, 2, true),
    T(GLIMP_TYPE_Q4_0, "Q4_0", 32, 18, true),
    T(GLIMP_TYPE_Q4_1, "Q4_1", 32, 20, false),
    T(GLIMP_TYPE_Q5_0, "Q5_0", 32, 22, true),
    T(GLIMP_TYPE_Q5_1, "Q5_1", 32, 24, true),
    T(GLIMP_TYPE_Q8_0, "Q8_0", 32, 34, true),
    T(GLIMP_TYPE_Q8_1, "Q8_1", 32, 36, false),
    T(GLIMP_TYPE_Q2_K, "Q2_K", 256, 84, false),
    T(GLIMP_TYPE_Q3_K, "Q3_K", 256, 110, false),
    T(GLIMP_TYPE_Q4_K, "Q4_K", 256, 144, true),
    T(GLIMP_TYPE_Q5_K, "Q5_K", 256, 176, true),
    T(GLIMP_TYPE_Q6_K, "Q6_K", 256, 210, true),
    T(GLIMP_TYPE_Q8_K, "Q8_K", 256, 292, false),
    T(GLIMP_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66, false),
    T(GLIMP_TYPE_IQ2_XS, "IQ2_XS", 256, 74, false),
    T(GLIMP_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98, false),
    T(GLIMP_TYPE_IQ1_S, "IQ1_S", 256, 50, false),
    T(GLIMP_TYPE_IQ4_NL, "IQ4_NL", 32, 18, false),
    T(GLIMP_TYPE_IQ3_S, "IQ3_S", 256, 110, false),
    T(GLIMP_TYPE_IQ2_S, "IQ2_S", 256, 82, false),
    T(GLIMP_TYPE_IQ4_XS, "IQ4_XS", 256, 136, false),
    T(GLIMP_TYPE_I8, "I8", 1, 1, false),
    T(GLIMP_TYPE_I16, "I16", 1, 2, false),
    T(GLIMP_TYPE_I32, "I32", 1, 4, false),
    T(GLIMP_TYPE_I64, "I64", 1, 8, false),
    T(GLIMP_TYPE_F64, "F64", 1, 8, false),
    T(GLIMP_TYPE_IQ1_M, "IQ1_M", 256, 56, false),
    T(GLIMP_TYPE_BF16, "BF16", 1, 2, true),
    T(GLIMP_TYPE_TQ1_0, "TQ1_0", 256, 54, false),
    T(GLIMP_TYPE_TQ2_0, "TQ2_0", 256, 66, false),
};

const struct glimp_type_info *glimp_type_info(uint32_t type)
{
    if (type >= GLIMP_TYPE_COUNT || type_table[type].name == NULL)
        return NULL;
    return &type_table[type];
}

int glimp_type_nbytes(uint32_t type, uint64_t n, uint64_t *nbytes)
{
    const struct glimp_type_info *ti = glimp_type_info(type);
    if (!ti)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "unknown tensor type %u", type);
    if (n % ti->block_size != 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%llu elements of type %s: not a multiple of its block size %u",
                           (unsigned long long)n, ti->name, ti->block_size);
    uint64_t blocks = n / ti->block_size;
    if (blocks > UINT64_MAX / ti->type_size)
        return glimp_error(GLIMP_ERR_RANGE, "%llu elements of type %s: size overflows 64 bits",
                           (unsigned long long)n, ti->name);
    *nbytes = blocks * ti->type_size;
    return GLIMP_OK;
}
