/* gguf_read.c - GGUF v2/v3 reader. The file is hostile input: every count,
 * length and offset is checked against the bytes that remain before it is
 * used, in 64-bit arithmetic that cannot overflow, so a corrupt file ends in
 * an error that says what is wrong and where, never in a read out of bounds.
 *
 * Layout (all little-endian):
 *   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv x      { str key | u32 vtype | value }
 *   n_tensors x { str name | u32 n_dims | u64 ne[n_dims] | u32 type | u64 offset }
 *   padding to general.alignment (default 32)
 *   data section: tensor data at the given offsets, each aligned
 * where str = u64 length + bytes, and an array value = u32 elem vtype + u64 n
 * + n elements. */
#include "core/error.h"
#include "gguf/gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct glimp_gguf {
    const uint8_t *base;
    uint64_t size;
    void *map; /* non-NULL when we mapped the file ourselves */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    struct glimp_gguf_kv *kv;
    uint64_t n_tensors;
    struct glimp_gguf_tensor *tensors;
    /* sorted views for lookup by name */
    const struct glimp_gguf_kv **kv_sorted;
    const struct glimp_gguf_tensor **tensors_sorted;
};

/* A read position in the file; `what` names the item being read for
 * messages ("key #3 'general.name'"). */
struct cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    char what[320];
};

static int truncated(const struct cursor *c, uint64_t need, const char *field)
{
    return glimp_error(GLIMP_ERR_FORMAT,
                       "%s: %s at offset %llu needs %llu bytes, but the file ends at %llu", c->what,
                       field, (unsigned long long)c->pos, (unsigned long long)need,
                       (unsigned long long)c->size);
}

static int take(struct cursor *c, uint64_t n, const char *field, const uint8_t **out)
{
    if (n > c->size - c->pos)
        return truncated(c, n, field);
    *out = c->base + c->pos;
    c->pos += n;
    return GLIMP_OK;
}

static int read_u32(struct cursor *c, const char *field, uint32_t *v)
{
    const uint8_t *p = NULL;
    int err = take(c, 4, field, &p);
    if (err)
        return err;
    *v = glimp_gguf_load_u32(p);
    return GLIMP_OK;
}

static int read_u64(struct cursor *c, const char *field, uint64_t *v)
{
    const uint8_t *p = NULL;
    int err = take(c, 8, field, &p);
    if (err)
        return err;
    *v = glimp_gguf_load_u64(p);
    return GLIMP_OK;
}

static int read_str(struct cursor *c, const char *field, struct glimp_str *s)
{
    uint64_t len;
    uint64_t at = c->pos;
    int err = read_u64(c, field, &len);
    if (err)
        return err;
    if (len > c->size - c->pos)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%s: %s at offset %llu has length %llu, past end of file (size %llu)",
                           c->what, field, (unsigned long long)at, (unsigned long long)len,
                           (unsigned long long)c->size);
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += len;
    return GLIMP_OK;
}

/* A name (key or tensor name) as a NUL-terminated copy; names may not be
 * empty or contain NUL, so that they can be compared and printed as C
 * strings. */
static int read_name(struct cursor *c, const char *field, char **out)
{
    struct glimp_str s = {0};
    int err = read_str(c, field, &s);
    if (err)
        return err;
    if (s.len == 0)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: empty %s at offset %llu", c->what, field,
                           (unsigned long long)(c->pos - 8));
    if (memchr(s.ptr, '\0', s.len))
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %s at offset %llu contains a NUL byte", c->what,
                           field, (unsigned long long)(c->pos - s.len));
    if (s.len > GLIMP_GGUF_MAX_NAME)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %s of %llu bytes is longer than %d", c->what,
                           field, (unsigned long long)s.len, GLIMP_GGUF_MAX_NAME);
    char *copy = malloc(s.len + 1);
    if (!copy)
        return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", c->what);
    memcpy(copy, s.ptr, s.len);
    copy[s.len] = '\0';
    *out = copy;
    return GLIMP_OK;
}

/* One scalar of a fixed-size type from p into v. */
static int decode_scalar(const struct cursor *c, enum glimp_gguf_vtype t, const uint8_t *p,
                         struct glimp_gguf_value *v)
{
    v->type = t;
    switch (t) {
    case GLIMP_GGUF_U8: v->u = p[0]; break;
    case GLIMP_GGUF_I8: v->i = (int8_t)p[0]; break;
    case GLIMP_GGUF_U16: v->u = glimp_gguf_load_u16(p); break;
    case GLIMP_GGUF_I16: v->i = (int16_t)glimp_gguf_load_u16(p); break;
    case GLIMP_GGUF_U32: v->u = glimp_gguf_load_u32(p); break;
    case GLIMP_GGUF_I32: v->i = (int32_t)glimp_gguf_load_u32(p); break;
    case GLIMP_GGUF_U64: v->u = glimp_gguf_load_u64(p); break;
    case GLIMP_GGUF_I64: v->i = (int64_t)glimp_gguf_load_u64(p); break;
    case GLIMP_GGUF_F32: {
        uint32_t bits = glimp_gguf_load_u32(p);
        float f;
        memcpy(&f, &bits, 4);
        v->f = f;
        break;
    }
    case GLIMP_GGUF_F64: {
        uint64_t bits = glimp_gguf_load_u64(p);
        memcpy(&v->f, &bits, 8);
        break;
    }
    case GLIMP_GGUF_BOOL:
        if (p[0] > 1)
            return glimp_error(GLIMP_ERR_FORMAT, "%s: bool value %u is neither 0 nor 1", c->what,
                               p[0]);
        v->b = p[0] != 0;
        break;
    default:
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %s is not a fixed-size type", c->what,
                           glimp_gguf_vtype_name(t));
    }
    return GLIMP_OK;
}

static int read_array(struct cursor *c, struct glimp_gguf_value *v)
{
    uint32_t elem;
    uint64_t n;
    int err = read_u32(c, "array element type", &elem);
    if (err)
        return err;
    if (elem >= GLIMP_GGUF_VTYPE_COUNT)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: unknown array element type %u at offset %llu",
                           c->what, elem, (unsigned long long)(c->pos - 4));
    if (elem == GLIMP_GGUF_ARR)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "%s: arrays of arrays are not supported",
                           c->what);
    uint64_t at = c->pos;
    err = read_u64(c, "array length", &n);
    if (err)
        return err;
    v->type = GLIMP_GGUF_ARR;
    v->arr.type = elem;
    v->arr.n = n;
    v->arr.data = NULL;
    v->arr.strs = NULL;
    uint64_t left = c->size - c->pos;
    if (elem == GLIMP_GGUF_STR) {
        /* each string needs at least its 8-byte length */
        if (n > left / 8)
            return glimp_error(GLIMP_ERR_FORMAT,
                               "%s: array of %llu strings at offset %llu cannot fit in the "
                               "%llu bytes left",
                               c->what, (unsigned long long)n, (unsigned long long)at,
                               (unsigned long long)left);
        struct glimp_str *strs = malloc(n ? n * sizeof *strs : 1);
        if (!strs)
            return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory for %llu strings", c->what,
                               (unsigned long long)n);
        v->arr.strs = strs;
        for (uint64_t i = 0; i < n; i++) {
            char field[64];
            snprintf(field, sizeof field, "string %llu of the array", (unsigned long long)i);
            err = read_str(c, field, &strs[i]);
            if (err)
                return err;
        }
        return GLIMP_OK;
    }
    uint64_t size = glimp_gguf_vtype_size(elem);
    if (n > left / size)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%s: array of %llu %s at offset %llu needs %llu bytes per element, "
                           "past end of file (size %llu)",
                           c->what, (unsigned long long)n, glimp_gguf_vtype_name(elem),
                           (unsigned long long)at, (unsigned long long)size,
                           (unsigned long long)c->size);
    v->arr.data = c->base + c->pos;
    if (elem == GLIMP_GGUF_BOOL) {
        for (uint64_t i = 0; i < n; i++)
            if (c->base[c->pos + i] > 1)
                return glimp_error(GLIMP_ERR_FORMAT, "%s: bool element %llu is %u, neither 0 nor 1",
                                   c->what, (unsigned long long)i, c->base[c->pos + i]);
    }
    c->pos += n * size;
    return GLIMP_OK;
}

static int read_value(struct cursor *c, uint32_t type, struct glimp_gguf_value *v)
{
    if (type >= GLIMP_GGUF_VTYPE_COUNT)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: unknown value type %u at offset %llu", c->what,
                           type, (unsigned long long)(c->pos - 4));
    if (type == GLIMP_GGUF_STR) {
        v->type = GLIMP_GGUF_STR;
        return read_str(c, "string value", &v->s);
    }
    if (type == GLIMP_GGUF_ARR)
        return read_array(c, v);
    const uint8_t *p = NULL;
    int err = take(c, glimp_gguf_vtype_size(type), "value", &p);
    if (err)
        return err;
    return decode_scalar(c, type, p, v);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp((*(const struct glimp_gguf_kv *const *)a)->key,
                  (*(const struct glimp_gguf_kv *const *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const struct glimp_gguf_tensor *const *)a)->name,
                  (*(const struct glimp_gguf_tensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b)
{
    const struct glimp_gguf_tensor *x = *(const struct glimp_gguf_tensor *const *)a;
    const struct glimp_gguf_tensor *y = *(const struct glimp_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

static int read_header(struct glimp_gguf *g, struct cursor *c, uint64_t *n_tensors, uint64_t *n_kv)
{
    snprintf(c->what, sizeof c->what, "header");
    const uint8_t *magic;
    if (c->size < 4 || memcmp(c->base, "GGUF", 4) != 0) {
        char shown[5] = {0};
        for (uint64_t i = 0; i < 4 && i < c->size; i++)
            shown[i] = (c->base[i] >= 0x20 && c->base[i] < 0x7f) ? (char)c->base[i] : '.';
        return glimp_error(GLIMP_ERR_FORMAT,
                           "not a GGUF file: starts with '%s' (%llu bytes), expected 'GGUF'", shown,
                           (unsigned long long)c->size);
    }
    int err = take(c, 4, "magic", &magic);
    if (!err)
        err = read_u32(c, "version", &g->version);
    if (err)
        return err;
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "big-endian GGUF files are not supported");
    if (g->version == 1)
        return glimp_error(GLIMP_ERR_UNSUPPORTED,
                           "GGUF version 1 is not supported (only versions 2 and 3)");
    if (g->version != 2 && g->version != 3)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "unknown GGUF version %u (only versions 2 and 3)",
                           g->version);
    err = read_u64(c, "tensor count", n_tensors);
    if (!err)
        err = read_u64(c, "metadata count", n_kv);
    if (err)
        return err;
    /* Smallest encodings: a key-value pair takes 8 + 1 + 4 + 1 bytes, a
     * tensor info 8 + 1 + 4 + 8 + 4 + 8. Counts that cannot fit are
     * rejected before anything is allocated for them. */
    uint64_t left = c->size - c->pos;
    if (*n_kv > left / 14)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "header: metadata count %llu cannot fit in the %llu bytes left",
                           (unsigned long long)*n_kv, (unsigned long long)left);
    if (*n_tensors > left / 33)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "header: tensor count %llu cannot fit in the %llu bytes left",
                           (unsigned long long)*n_tensors, (unsigned long long)left);
    return GLIMP_OK;
}

static int read_kvs(struct glimp_gguf *g, struct cursor *c, uint64_t n_kv)
{
    g->kv = calloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->kv_sorted = malloc((n_kv ? n_kv : 1) * sizeof *g->kv_sorted);
    if (!g->kv || !g->kv_sorted)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory for %llu metadata entries",
                           (unsigned long long)n_kv);
    for (uint64_t i = 0; i < n_kv; i++) {
        struct glimp_gguf_kv *kv = &g->kv[i];
        snprintf(c->what, sizeof c->what, "metadata entry #%llu", (unsigned long long)i);
        char *key;
        int err = read_name(c, "key", &key);
        if (err)
            return err;
        kv->key = key;
        g->n_kv = i + 1; /* from here on close() frees it */
        snprintf(c->what, sizeof c->what, "key '%.256s'", key);
        uint32_t type;
        err = read_u32(c, "value type", &type);
        if (!err)
            err = read_value(c, type, &kv->val);
        if (err)
            return err;
        g->kv_sorted[i] = kv;
    }
    qsort(g->kv_sorted, n_kv, sizeof *g->kv_sorted, cmp_kv);
    for (uint64_t i = 1; i < n_kv; i++)
        if (strcmp(g->kv_sorted[i - 1]->key, g->kv_sorted[i]->key) == 0)
            return glimp_error(GLIMP_ERR_FORMAT, "duplicate key '%.256s'", g->kv_sorted[i]->key);

    g->alignment = GLIMP_GGUF_DEFAULT_ALIGNMENT;
    const struct glimp_gguf_kv *al = glimp_gguf_find(g, "general.alignment");
    if (al) {
        if (al->val.type != GLIMP_GGUF_U32)
            return glimp_error(GLIMP_ERR_FORMAT,
                               "key 'general.alignment' has type %s, expected u32",
                               glimp_gguf_vtype_name(al->val.type));
        uint64_t a = al->val.u;
        if (a == 0 || (a & (a - 1)) != 0)
            return glimp_error(GLIMP_ERR_FORMAT,
                               "key 'general.alignment' is %llu, not a power of two",
                               (unsigned long long)a);
        g->alignment = (uint32_t)a;
    }
    return GLIMP_OK;
}

static int read_tensor_info(struct cursor *c, struct glimp_gguf_tensor *t, uint32_t alignment)
{
    uint32_t n_dims, type;
    int err = read_u32(c, "dimension count", &n_dims);
    if (err)
        return err;
    if (n_dims == 0 || n_dims > GLIMP_GGUF_MAX_DIMS)
        return glimp_error(GLIMP_ERR_FORMAT, "%s: %u dimensions (must be 1 to %d)", c->what, n_dims,
                           GLIMP_GGUF_MAX_DIMS);
    t->n_dims = n_dims;
    uint64_t n = 1;
    for (uint32_t d = 0; d < GLIMP_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= n_dims)
            continue;
        err = read_u64(c, "dimension", &t->ne[d]);
        if (err)
            return err;
        if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
            return glimp_error(GLIMP_ERR_FORMAT, "%s: dimension %u is %llu", c->what, d,
                               (unsigned long long)t->ne[d]);
        if (n > (uint64_t)INT64_MAX / t->ne[d])
            return glimp_error(GLIMP_ERR_FORMAT,
                               "%s: element count overflows (dimension %u is %llu)", c->what, d,
                               (unsigned long long)t->ne[d]);
        n *= t->ne[d];
    }
    t->n_elements = n;
    err = read_u32(c, "type", &type);
    if (err)
        return err;
    const struct glimp_type_info *ti = glimp_type_info(type);
    if (!ti)
        return glimp_error(GLIMP_ERR_UNSUPPORTED, "%s: unknown tensor type %u", c->what, type);
    t->type = type;
    if (t->ne[0] % ti->block_size != 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%s: row of %llu elements is not a multiple of the %s block size %u",
                           c->what, (unsigned long long)t->ne[0], ti->name, ti->block_size);
    if (glimp_type_nbytes(type, n, &t->nbytes) != GLIMP_OK)
        return glimp_error_prefix(GLIMP_ERR_FORMAT, "%s: ", c->what);
    err = read_u64(c, "data offset", &t->offset);
    if (err)
        return err;
    if (t->offset % alignment != 0)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "%s: data offset %llu is not a multiple of the alignment %u", c->what,
                           (unsigned long long)t->offset, alignment);
    return GLIMP_OK;
}

static int read_tensors(struct glimp_gguf *g, struct cursor *c, uint64_t n_tensors)
{
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    g->tensors_sorted = malloc((n_tensors ? n_tensors : 1) * sizeof *g->tensors_sorted);
    if (!g->tensors || !g->tensors_sorted)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory for %llu tensor infos",
                           (unsigned long long)n_tensors);
    for (uint64_t i = 0; i < n_tensors; i++) {
        struct glimp_gguf_tensor *t = &g->tensors[i];
        snprintf(c->what, sizeof c->what, "tensor info #%llu", (unsigned long long)i);
        char *name;
        int err = read_name(c, "name", &name);
        if (err)
            return err;
        t->name = name;
        g->n_tensors = i + 1;
        snprintf(c->what, sizeof c->what, "tensor '%.256s'", name);
        err = read_tensor_info(c, t, g->alignment);
        if (err)
            return err;
        g->tensors_sorted[i] = t;
    }
    qsort(g->tensors_sorted, n_tensors, sizeof *g->tensors_sorted, cmp_tensor_name);
    for (uint64_t i = 1; i < n_tensors; i++)
        if (strcmp(g->tensors_sorted[i - 1]->name, g->tensors_sorted[i]->name) == 0)
            return glimp_error(GLIMP_ERR_FORMAT, "duplicate tensor name '%.256s'",
                               g->tensors_sorted[i]->name);

    /* the data section starts at the next multiple of the alignment */
    uint64_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
    g->data_offset = c->pos + pad;
    if (n_tensors == 0)
        return GLIMP_OK;
    if (g->data_offset > c->size)
        return glimp_error(GLIMP_ERR_FORMAT,
                           "data section at offset %llu starts past end of file (size %llu)",
                           (unsigned long long)g->data_offset, (unsigned long long)c->size);
    uint64_t data_size = c->size - g->data_offset;
    for (uint64_t i = 0; i < n_tensors; i++) {
        struct glimp_gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return glimp_error(GLIMP_ERR_FORMAT,
                               "tensor '%.256s': data [offset %llu, %llu bytes] past end of "
                               "file (size %llu)",
                               t->name, (unsigned long long)(g->data_offset + t->offset),
                               (unsigned long long)t->nbytes, (unsigned long long)c->size);
        t->data = c->base + g->data_offset + t->offset;
    }
    /* tensors may come in any order but must not share bytes */
    const struct glimp_gguf_tensor **by_off = malloc(n_tensors * sizeof *by_off);
    if (!by_off)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n_tensors; i++)
        by_off[i] = &g->tensors[i];
    qsort(by_off, n_tensors, sizeof *by_off, cmp_tensor_offset);
    int err = GLIMP_OK;
    for (uint64_t i = 1; i < n_tensors && !err; i++) {
        const struct glimp_gguf_tensor *a = by_off[i - 1], *b = by_off[i];
        if (a->offset + a->nbytes > b->offset)
            err = glimp_error(GLIMP_ERR_FORMAT,
                              "tensors '%.200s' [offset %llu, %llu bytes] and '%.200s' [offset "
                              "%llu] overlap",
                              a->name, (unsigned long long)(g->data_offset + a->offset),
                              (unsigned long long)a->nbytes, b->name,
                              (unsigned long long)(g->data_offset + b->offset));
    }
    free(by_off);
    return err;
}

static int parse(struct glimp_gguf *g)
{
    struct cursor c = {.base = g->base, .size = g->size, .pos = 0};
    uint64_t n_tensors = 0, n_kv = 0;
    int err = read_header(g, &c, &n_tensors, &n_kv);
    if (!err)
        err = read_kvs(g, &c, n_kv);
    if (!err)
        err = read_tensors(g, &c, n_tensors);
    return err;
}

int glimp_gguf_open_memory(const void *data, size_t size, struct glimp_gguf **out)
{
    *out = NULL;
    if (!data && size > 0)
        return glimp_error(GLIMP_ERR_INVALID, "glimp_gguf_open_memory: NULL data");
    struct glimp_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
    static const uint8_t empty[1];
    g->base = data ? data : empty;
    g->size = size;
    int err = parse(g);
    if (err) {
        glimp_gguf_close(g);
        return err;
    }
    *out = g;
    return GLIMP_OK;
}

int glimp_gguf_open(const char *path, struct glimp_gguf **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return glimp_error(GLIMP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return glimp_error(GLIMP_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return glimp_error(GLIMP_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return glimp_error(GLIMP_ERR_FORMAT, "%s: empty file, not a GGUF file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return glimp_error(GLIMP_ERR_RANGE, "%s: too large to map", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return glimp_error(GLIMP_ERR_IO, "%s: cannot map: %s", path, strerror(map_errno));
    struct glimp_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(map, (size_t)st.st_size);
        return glimp_error(GLIMP_ERR_NOMEM, "%s: out of memory", path);
    }
    g->map = map;
    g->base = map;
    g->size = (uint64_t)st.st_size;
    int err = parse(g);
    if (err) {
        glimp_gguf_close(g);
        return glimp_error_prefix(err, "%s: ", path);
    }
    *out = g;
    return GLIMP_OK;
}

void glimp_gguf_close(struct glimp_gguf *g)
{
    if (!g)
        return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        free((char *)g->kv[i].key);
        if (g->kv[i].val.type == GLIMP_GGUF_ARR)
            free((void *)g->kv[i].val.arr.strs);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->kv_sorted);
    free(g->tensors);
    free(g->tensors_sorted);
    if (g->map)
        munmap(g->map, (size_t)g->size);
    free(g);
}

uint32_t glimp_gguf_version(const struct glimp_gguf *g)
{
    return g->version;
}

uint32_t glimp_gguf_alignment(const struct glimp_gguf *g)
{
    return g->alignment;
}

uint64_t glimp_gguf_data_offset(const struct glimp_gguf *g)
{
    return g->data_offset;
}

uint64_t glimp_gguf_file_size(const struct glimp_gguf *g)
{
    return g->size;
}

uint64_t glimp_gguf_n_kv(const struct glimp_gguf *g)
{
    return g->n_kv;
}

const struct glimp_gguf_kv *glimp_gguf_kv_at(const struct glimp_gguf *g, uint64_t i)
{
    return i < g->n_kv ? &g->kv[i] : NULL;
}

const struct glimp_gguf_kv *glimp_gguf_find(const struct glimp_gguf *g, const char *key)
{
    struct glimp_gguf_kv probe = {.key = key};
    const struct glimp_gguf_kv *pp = &probe;
    const struct glimp_gguf_kv **hit =
        bsearch(&pp, g->kv_sorted, g->n_kv, sizeof *g->kv_sorted, cmp_kv);
    return hit ? *hit : NULL;
}

uint64_t glimp_gguf_n_tensors(const struct glimp_gguf *g)
{
    return g->n_tensors;
}

const struct glimp_gguf_tensor *glimp_gguf_tensor_at(const struct glimp_gguf *g, uint64_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct glimp_gguf_tensor *glimp_gguf_find_tensor(const struct glimp_gguf *g, const char *name)
{
    struct glimp_gguf_tensor probe = {.name = name};
    const struct glimp_gguf_tensor *pp = &probe;
    const struct glimp_gguf_tensor **hit =
        bsearch(&pp, g->tensors_sorted, g->n_tensors, sizeof *g->tensors_sorted, cmp_tensor_name);
    return hit ? *hit : NULL;
}
