/* gguf_internal.h - pieces shared by the GGUF reader and writer: little-endian
 * loads and stores, and the encoded size of each value type. */
#ifndef GLIMP_GGUF_INTERNAL_H
#define GLIMP_GGUF_INTERNAL_H

#include "glimp.h"

#include <string.h>

/* Keys and tensor names longer than this are taken for corruption. */
#define GLIMP_GGUF_MAX_NAME 65535

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE float sizes");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "glimp reads GGUF on little-endian hosts only"
#endif

static inline uint16_t glimp_gguf_load_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline uint32_t glimp_gguf_load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t glimp_gguf_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Bytes of one encoded element of a fixed-size type; 0 for STR and ARR. */
uint64_t glimp_gguf_vtype_size(uint32_t vtype);

#endif
