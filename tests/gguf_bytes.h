/* gguf_bytes.h - builds GGUF bytes by hand, from the format's description
 * rather than from glimp's writer, so tests of the reader (and of the
 * writer's output) have an independent source. Test code only. */
#ifndef GLIMP_GGUF_BYTES_H
#define GLIMP_GGUF_BYTES_H

#include <stdint.h>
#include <string.h>

struct buf {
    uint8_t d[4096];
    size_t n;
};

static inline void b_raw(struct buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static inline void b_u8(struct buf *b, uint8_t v)
{
    b_raw(b, &v, 1);
}

static inline void b_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    b_raw(b, x, 4);
}

static inline void b_u64(struct buf *b, uint64_t v)
{
    b_u32(b, (uint32_t)v);
    b_u32(b, (uint32_t)(v >> 32));
}

static inline void b_str(struct buf *b, const char *s)
{
    b_u64(b, strlen(s));
    b_raw(b, s, strlen(s));
}

static inline void b_pad(struct buf *b, size_t align)
{
    while (b->n % align)
        b->d[b->n++] = 0;
}

/* "GGUF", version, counts */
static inline void b_header(struct buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    memset(b, 0, sizeof *b);
    b_raw(b, "GGUF", 4);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}

/* a tensor info with up to 4 dims */
static inline void b_tensor(struct buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                            uint32_t type, uint64_t offset)
{
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        b_u64(b, ne[d]);
    b_u32(b, type);
    b_u64(b, offset);
}

#endif
