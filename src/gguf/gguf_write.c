/* gguf_write.c - GGUF writer. Metadata is encoded into a byte buffer as it is
 * set; tensors are kept (copied) until the file is written, when their
 * offsets are laid out aligned and the data section follows. Files go to a
 * temporary name first and are renamed into place, so a failed write never
 * leaves a half-written model behind. */
#include "core/error.h"
#include "gguf/gguf_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct bytes {
    uint8_t *p;
    size_t len, cap;
    bool failed; /* an append ran out of memory */
};

struct wtensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[GLIMP_GGUF_MAX_DIMS];
    uint64_t nbytes;
    void *data;
};

struct glimp_gguf_writer {
    uint32_t version;
    uint32_t alignment;
    struct bytes kv; /* encoded key-value pairs */
    uint64_t n_kv;
    char **keys;
    size_t keys_cap;
    struct wtensor *tensors;
    uint64_t n_tensors;
    size_t tensors_cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
    if (b->failed || n == 0)
        return; /* n == 0 may come with src NULL (no metadata yet) */
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (n > cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(struct bytes *b, uint32_t v)
{
    put(b, &v, 4);
}

static void put_u64(struct bytes *b, uint64_t v)
{
    put(b, &v, 8);
}

static void put_zeros(struct bytes *b, uint64_t n)
{
    static const uint8_t zeros[256];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        put(b, zeros, k);
        n -= k;
    }
}

static bool write_zeros(FILE *f, uint64_t n)
{
    static const uint8_t zeros[256];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (fwrite(zeros, 1, k, f) != k)
            return false;
        n -= k;
    }
    return true;
}

static void put_str(struct bytes *b, const char *s, uint64_t len)
{
    put_u64(b, len);
    put(b, s, len);
}

struct glimp_gguf_writer *glimp_gguf_writer_init(uint32_t version, uint32_t alignment)
{
    if ((version != 2 && version != 3) || alignment == 0 || (alignment & (alignment - 1))) {
        glimp_error(GLIMP_ERR_INVALID, "GGUF writer: version %u / alignment %u not allowed",
                    version, alignment);
        return NULL;
    }
    struct glimp_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) {
        glimp_error(GLIMP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->version = version;
    w->alignment = alignment;
    if (alignment != GLIMP_GGUF_DEFAULT_ALIGNMENT &&
        glimp_gguf_writer_set_u32(w, "general.alignment", alignment) != GLIMP_OK) {
        glimp_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

void glimp_gguf_writer_free(struct glimp_gguf_writer *w)
{
    if (!w)
        return;
    for (uint64_t i = 0; i < w->n_kv; i++)
        free(w->keys[i]);
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->keys);
    free(w->tensors);
    free(w->kv.p);
    free(w);
}

/* Checks a new key and records it; the caller then encodes its value. */
static int add_key(struct glimp_gguf_writer *w, const char *key)
{
    if (!key || !key[0])
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: empty key");
    if (strlen(key) > GLIMP_GGUF_MAX_NAME)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: key longer than %d bytes",
                           GLIMP_GGUF_MAX_NAME);
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: key '%s' set twice", key);
    if (w->n_kv == w->keys_cap) {
        size_t cap = w->keys_cap ? 2 * w->keys_cap : 16;
        char **k = realloc(w->keys, cap * sizeof *k);
        if (!k)
            return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
        w->keys = k;
        w->keys_cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
    w->keys[w->n_kv++] = copy;
    put_str(&w->kv, key, strlen(key));
    return GLIMP_OK;
}

static void put_scalar(struct bytes *b, const struct glimp_gguf_value *v)
{
    switch (v->type) {
    case GLIMP_GGUF_U8: {
        uint8_t x = (uint8_t)v->u;
        put(b, &x, 1);
        break;
    }
    case GLIMP_GGUF_I8: {
        int8_t x = (int8_t)v->i;
        put(b, &x, 1);
        break;
    }
    case GLIMP_GGUF_U16: {
        uint16_t x = (uint16_t)v->u;
        put(b, &x, 2);
        break;
    }
    case GLIMP_GGUF_I16: {
        int16_t x = (int16_t)v->i;
        put(b, &x, 2);
        break;
    }
    case GLIMP_GGUF_U32: put_u32(b, (uint32_t)v->u); break;
    case GLIMP_GGUF_I32: put_u32(b, (uint32_t)(int32_t)v->i); break;
    case GLIMP_GGUF_U64: put_u64(b, v->u); break;
    case GLIMP_GGUF_I64: put_u64(b, (uint64_t)v->i); break;
    case GLIMP_GGUF_F32: {
        float f = (float)v->f;
        put(b, &f, 4);
        break;
    }
    case GLIMP_GGUF_F64: put(b, &v->f, 8); break;
    case GLIMP_GGUF_BOOL: {
        uint8_t x = v->b ? 1 : 0;
        put(b, &x, 1);
        break;
    }
    default: break;
    }
}

int glimp_gguf_writer_set(struct glimp_gguf_writer *w, const char *key,
                          const struct glimp_gguf_value *v)
{
    if (v->type >= GLIMP_GGUF_VTYPE_COUNT)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: key '%s': unknown value type %u",
                           key ? key : "", v->type);
    if (v->type == GLIMP_GGUF_ARR &&
        (v->arr.type >= GLIMP_GGUF_VTYPE_COUNT || v->arr.type == GLIMP_GGUF_ARR))
        return glimp_error(GLIMP_ERR_INVALID,
                           "GGUF writer: key '%s': array element type %u not allowed",
                           key ? key : "", v->arr.type);
    if (v->type == GLIMP_GGUF_ARR && v->arr.n > 0 &&
        (v->arr.type == GLIMP_GGUF_STR ? !v->arr.strs : !v->arr.data))
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: key '%s': array without data", key);
    if (v->type == GLIMP_GGUF_STR && !v->s.ptr && v->s.len > 0)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: key '%s': string without data", key);
    int err = add_key(w, key);
    if (err)
        return err;
    put_u32(&w->kv, v->type);
    if (v->type == GLIMP_GGUF_STR) {
        put_str(&w->kv, v->s.ptr, v->s.len);
    } else if (v->type == GLIMP_GGUF_ARR) {
        put_u32(&w->kv, v->arr.type);
        put_u64(&w->kv, v->arr.n);
        if (v->arr.type == GLIMP_GGUF_STR) {
            for (uint64_t i = 0; i < v->arr.n; i++)
                put_str(&w->kv, v->arr.strs[i].ptr, v->arr.strs[i].len);
        } else {
            uint64_t size = glimp_gguf_vtype_size(v->arr.type);
            if (v->arr.n > SIZE_MAX / size)
                return glimp_error(GLIMP_ERR_RANGE, "GGUF writer: key '%s': array too large", key);
            if (v->arr.type == GLIMP_GGUF_BOOL) {
                const uint8_t *src = v->arr.data;
                for (uint64_t i = 0; i < v->arr.n; i++) {
                    uint8_t x = src[i] ? 1 : 0;
                    put(&w->kv, &x, 1);
                }
            } else if (v->arr.n > 0) {
                put(&w->kv, v->arr.data, (size_t)(v->arr.n * size));
            }
        }
    } else {
        put_scalar(&w->kv, v);
    }
    if (w->kv.failed)
        return glimp_error(GLIMP_ERR_NOMEM, "GGUF writer: out of memory at key '%s'", key);
    return GLIMP_OK;
}

int glimp_gguf_writer_set_u32(struct glimp_gguf_writer *w, const char *key, uint32_t v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_U32, .u = v};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_i32(struct glimp_gguf_writer *w, const char *key, int32_t v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_I32, .i = v};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_u64(struct glimp_gguf_writer *w, const char *key, uint64_t v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_U64, .u = v};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_f32(struct glimp_gguf_writer *w, const char *key, float v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_F32, .f = v};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_bool(struct glimp_gguf_writer *w, const char *key, bool v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_BOOL, .b = v};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_str(struct glimp_gguf_writer *w, const char *key, const char *v)
{
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_STR, .s = {v, v ? strlen(v) : 0}};
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_arr(struct glimp_gguf_writer *w, const char *key,
                              enum glimp_gguf_vtype elem, uint64_t n, const void *data)
{
    if (elem == GLIMP_GGUF_STR)
        return glimp_error(GLIMP_ERR_INVALID,
                           "GGUF writer: key '%s': use glimp_gguf_writer_set_arr_str", key);
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_ARR};
    val.arr.type = elem;
    val.arr.n = n;
    val.arr.data = data;
    return glimp_gguf_writer_set(w, key, &val);
}

int glimp_gguf_writer_set_arr_str(struct glimp_gguf_writer *w, const char *key, uint64_t n,
                                  const char *const *strs)
{
    if (n > SIZE_MAX / sizeof(struct glimp_str))
        return glimp_error(GLIMP_ERR_RANGE, "GGUF writer: key '%s': array too large", key);
    struct glimp_str *views = malloc(n ? n * sizeof *views : 1);
    if (!views)
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        views[i].ptr = strs[i];
        views[i].len = strs[i] ? strlen(strs[i]) : 0;
    }
    struct glimp_gguf_value val = {.type = GLIMP_GGUF_ARR};
    val.arr.type = GLIMP_GGUF_STR;
    val.arr.n = n;
    val.arr.strs = views;
    int err = glimp_gguf_writer_set(w, key, &val);
    free(views);
    return err;
}

int glimp_gguf_writer_add_tensor(struct glimp_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const uint64_t *ne, const void *data)
{
    if (!name || !name[0] || strlen(name) > GLIMP_GGUF_MAX_NAME)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: bad tensor name");
    if (n_dims == 0 || n_dims > GLIMP_GGUF_MAX_DIMS)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: tensor '%s': %u dimensions", name,
                           n_dims);
    const struct glimp_type_info *ti = glimp_type_info(type);
    if (!ti)
        return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: tensor '%s': unknown type %u", name,
                           type);
    for (uint64_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: tensor '%s' added twice", name);
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] == 0 || n > (uint64_t)INT64_MAX / ne[d])
            return glimp_error(GLIMP_ERR_INVALID, "GGUF writer: tensor '%s': bad dimension %u",
                               name, d);
        n *= ne[d];
    }
    if (ne[0] % ti->block_size != 0)
        return glimp_error(GLIMP_ERR_INVALID,
                           "GGUF writer: tensor '%s': row of %llu is not a multiple of the %s "
                           "block size %u",
                           name, (unsigned long long)ne[0], ti->name, ti->block_size);
    uint64_t nbytes;
    int err = glimp_type_nbytes(type, n, &nbytes);
    if (err)
        return glimp_error_prefix(err, "GGUF writer: tensor '%s': ", name);
    if (nbytes > SIZE_MAX)
        return glimp_error(GLIMP_ERR_RANGE, "GGUF writer: tensor '%s' too large", name);
    if (w->n_tensors == w->tensors_cap) {
        size_t cap = w->tensors_cap ? 2 * w->tensors_cap : 16;
        struct wtensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t)
            return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
        w->tensors = t;
        w->tensors_cap = cap;
    }
    struct wtensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->data = malloc((size_t)nbytes);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return glimp_error(GLIMP_ERR_NOMEM, "GGUF writer: out of memory for tensor '%s'", name);
    }
    memcpy(t->data, data, (size_t)nbytes);
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < GLIMP_GGUF_MAX_DIMS; d++)
        t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = nbytes;
    w->n_tensors++;
    return GLIMP_OK;
}

static uint64_t pad_to(uint64_t off, uint32_t alignment)
{
    return (alignment - off % alignment) % alignment;
}

/* Everything up to the data section: header, metadata, tensor infos,
 * padding. Tensor offsets follow each other, each aligned. */
static int encode_head(const struct glimp_gguf_writer *w, struct bytes *b)
{
    put(b, "GGUF", 4);
    put_u32(b, w->version);
    put_u64(b, w->n_tensors);
    put_u64(b, w->n_kv);
    put(b, w->kv.p, w->kv.len);
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const struct wtensor *t = &w->tensors[i];
        put_str(b, t->name, strlen(t->name));
        put_u32(b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_u64(b, t->ne[d]);
        put_u32(b, t->type);
        put_u64(b, off);
        off += t->nbytes + pad_to(t->nbytes, w->alignment);
    }
    put_zeros(b, pad_to(b->len, w->alignment));
    if (b->failed)
        return glimp_error(GLIMP_ERR_NOMEM, "GGUF writer: out of memory");
    return GLIMP_OK;
}

int glimp_gguf_writer_write_memory(const struct glimp_gguf_writer *w, void **buf, size_t *size)
{
    struct bytes b = {0};
    int err = encode_head(w, &b);
    for (uint64_t i = 0; !err && i < w->n_tensors; i++) {
        put(&b, w->tensors[i].data, (size_t)w->tensors[i].nbytes);
        put_zeros(&b, pad_to(w->tensors[i].nbytes, w->alignment));
        if (b.failed)
            err = glimp_error(GLIMP_ERR_NOMEM, "GGUF writer: out of memory");
    }
    if (err) {
        free(b.p);
        return err;
    }
    *buf = b.p;
    *size = b.len;
    return GLIMP_OK;
}

int glimp_gguf_writer_write_file(const struct glimp_gguf_writer *w, const char *path)
{
    struct bytes head = {0};
    int err = encode_head(w, &head);
    if (err)
        return err;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(head.p);
        return glimp_error(GLIMP_ERR_NOMEM, "out of memory");
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        /* mkstemp makes the file private; a model is as readable as any file */
        mode_t mask = umask(0);
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0) {
            /* keep the private mode; the data is still right */
        }
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        err = glimp_error(GLIMP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        free(head.p);
        return err;
    }
    bool ok = fwrite(head.p, 1, head.len, f) == head.len;
    for (uint64_t i = 0; ok && i < w->n_tensors; i++)
        ok = fwrite(w->tensors[i].data, 1, (size_t)w->tensors[i].nbytes, f) ==
                 w->tensors[i].nbytes &&
             write_zeros(f, pad_to(w->tensors[i].nbytes, w->alignment));
    int werr = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        werr = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        werr = errno;
    }
    if (!ok) {
        unlink(tmp);
        err = glimp_error(GLIMP_ERR_IO, "%s: write failed: %s", path, strerror(werr));
    }
    free(tmp);
    free(head.p);
    return err;
}
