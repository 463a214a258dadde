/* test_gguf.c - the GGUF reader and writer: read(write(x)) == x for every
 * value type and tensor type, typed getters, files built byte by byte in the
 * test (independent of the writer), and a file written by llama.cpp's gguf-py
 * checked against what gguf-py's own reader saw (tests/data/ggml-ref.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glimp.h"
#include "testutil.h"

#include "gguf_bytes.h"

/* A small valid file: two keys, one F32 tensor of 4 elements. */
static void hand_file(struct buf *b)
{
    memset(b, 0, sizeof *b);
    b_raw(b, "GGUF", 4);
    b_u32(b, 3);
    b_u64(b, 1); /* tensors */
    b_u64(b, 2); /* kv */
    b_str(b, "general.architecture");
    b_u32(b, 8);
    b_str(b, "llama");
    b_str(b, "llama.context_length");
    b_u32(b, 4);
    b_u32(b, 4096);
    b_str(b, "w");
    b_u32(b, 1);
    b_u64(b, 4);
    b_u32(b, 0); /* F32 */
    b_u64(b, 0);
    b_pad(b, 32);
    float x[4] = {1.0f, -2.5f, 3.25f, 0.0f};
    b_raw(b, x, sizeof x);
}

static void test_hand_built_file(void **state)
{
    (void)state;
    struct buf b;
    hand_file(&b);
    struct glimp_gguf *g;
    assert_int_equal(glimp_gguf_open_memory(b.d, b.n, &g), GLIMP_OK);
    assert_int_equal(glimp_gguf_version(g), 3);
    assert_int_equal(glimp_gguf_n_kv(g), 2);
    assert_int_equal(glimp_gguf_data_offset(g), 160); /* 24 header + 45 + 36 kv + 33 info, padded */
    struct glimp_str s;
    assert_int_equal(glimp_gguf_get_str(g, "general.architecture", &s), GLIMP_OK);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.ptr, "llama", 5);
    uint32_t ctx;
    assert_int_equal(glimp_gguf_get_u32(g, "llama.context_length", &ctx), GLIMP_OK);
    assert_int_equal(ctx, 4096);
    const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(g, "w");
    assert_non_null(t);
    assert_int_equal(t->type, GLIMP_TYPE_F32);
    assert_int_equal(t->n_elements, 4);
    assert_ptr_equal(t->data, b.d + 160);
    assert_null(glimp_gguf_find_tensor(g, "x"));
    glimp_gguf_close(g);

    /* the writer produces exactly these bytes for the same content */
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_non_null(w);
    assert_int_equal(glimp_gguf_writer_set_str(w, "general.architecture", "llama"), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "llama.context_length", 4096), GLIMP_OK);
    float x[4] = {1.0f, -2.5f, 3.25f, 0.0f};
    uint64_t ne[1] = {4};
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "w", GLIMP_TYPE_F32, 1, ne, x), GLIMP_OK);
    void *out;
    size_t size;
    assert_int_equal(glimp_gguf_writer_write_memory(w, &out, &size), GLIMP_OK);
    /* the writer pads the last tensor to the alignment as well */
    assert_int_equal(size, 192);
    assert_memory_equal(out, b.d, b.n);
    free(out);
    glimp_gguf_writer_free(w);
}

/* ---- round trip of every value type and every tensor type */

static const char *const strs[] = {"", "plain", "Ġthe", "日本語 ✓", "tab\tnew\nline"};

static struct glimp_gguf_writer *full_writer(uint32_t version, uint32_t alignment, uint64_t seed)
{
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(version, alignment);
    assert_non_null(w);
    struct glimp_gguf_value v;
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_U8, .u = 255};
    assert_int_equal(glimp_gguf_writer_set(w, "t.u8", &v), GLIMP_OK);
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_I8, .i = -128};
    assert_int_equal(glimp_gguf_writer_set(w, "t.i8", &v), GLIMP_OK);
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_U16, .u = 65535};
    assert_int_equal(glimp_gguf_writer_set(w, "t.u16", &v), GLIMP_OK);
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_I16, .i = -32768};
    assert_int_equal(glimp_gguf_writer_set(w, "t.i16", &v), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "t.u32", 4294967295u), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_i32(w, "t.i32", INT32_MIN), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_f32(w, "t.f32", 1e-6f), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_bool(w, "t.bool", true), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_str(w, "t.str", "<|im_start|>日本"), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_u64(w, "t.u64", UINT64_MAX), GLIMP_OK);
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_I64, .i = INT64_MIN};
    assert_int_equal(glimp_gguf_writer_set(w, "t.i64", &v), GLIMP_OK);
    v = (struct glimp_gguf_value){.type = GLIMP_GGUF_F64, .f = -1e300};
    assert_int_equal(glimp_gguf_writer_set(w, "t.f64", &v), GLIMP_OK);
    int32_t ai[5] = {1, -2, 3, INT32_MAX, INT32_MIN};
    assert_int_equal(glimp_gguf_writer_set_arr(w, "t.arr_i32", GLIMP_GGUF_I32, 5, ai), GLIMP_OK);
    float af[3] = {0.5f, -0.25f, 1e30f};
    assert_int_equal(glimp_gguf_writer_set_arr(w, "t.arr_f32", GLIMP_GGUF_F32, 3, af), GLIMP_OK);
    uint8_t ab[4] = {1, 0, 0, 1};
    assert_int_equal(glimp_gguf_writer_set_arr(w, "t.arr_bool", GLIMP_GGUF_BOOL, 4, ab), GLIMP_OK);
    uint64_t au[2] = {0, UINT64_MAX};
    assert_int_equal(glimp_gguf_writer_set_arr(w, "t.arr_u64", GLIMP_GGUF_U64, 2, au), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_arr(w, "t.arr_empty", GLIMP_GGUF_U8, 0, NULL), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_arr_str(w, "t.arr_str", 5, strs), GLIMP_OK);

    /* one tensor of each supported type, bytes random (the reader does not
     * interpret them), shapes that exercise padding */
    uint64_t rng = seed;
    for (uint32_t type = 0; type < GLIMP_TYPE_COUNT; type++) {
        const struct glimp_type_info *ti = glimp_type_info(type);
        if (!ti || !ti->supported)
            continue;
        uint64_t ne[2] = {ti->block_size * 3, 2};
        uint64_t nbytes;
        assert_int_equal(glimp_type_nbytes(type, ne[0] * ne[1], &nbytes), GLIMP_OK);
        uint8_t *data = malloc(nbytes);
        for (uint64_t i = 0; i < nbytes; i++)
            data[i] = (uint8_t)tu_rng_u64(&rng);
        char name[64];
        snprintf(name, sizeof name, "blk.0.%s.weight", ti->name);
        assert_int_equal(glimp_gguf_writer_add_tensor(w, name, type, 2, ne, data), GLIMP_OK);
        free(data);
    }
    return w;
}

static void check_full(const struct glimp_gguf *g, uint32_t version, uint32_t alignment,
                       const void *file_base, const struct glimp_gguf_writer *w)
{
    (void)w;
    assert_int_equal(glimp_gguf_version(g), version);
    assert_int_equal(glimp_gguf_alignment(g), alignment);
    const struct glimp_gguf_kv *kv;
    kv = glimp_gguf_find(g, "t.u8");
    assert_int_equal(kv->val.type, GLIMP_GGUF_U8);
    assert_int_equal(kv->val.u, 255);
    kv = glimp_gguf_find(g, "t.i8");
    assert_int_equal(kv->val.i, -128);
    kv = glimp_gguf_find(g, "t.u16");
    assert_int_equal(kv->val.u, 65535);
    kv = glimp_gguf_find(g, "t.i16");
    assert_int_equal(kv->val.i, -32768);
    kv = glimp_gguf_find(g, "t.u32");
    assert_int_equal(kv->val.type, GLIMP_GGUF_U32);
    assert_true(kv->val.u == 4294967295u);
    kv = glimp_gguf_find(g, "t.i32");
    assert_true(kv->val.i == INT32_MIN);
    kv = glimp_gguf_find(g, "t.f32");
    assert_true(kv->val.f == (double)1e-6f);
    kv = glimp_gguf_find(g, "t.bool");
    assert_true(kv->val.b);
    kv = glimp_gguf_find(g, "t.u64");
    assert_true(kv->val.u == UINT64_MAX);
    kv = glimp_gguf_find(g, "t.i64");
    assert_true(kv->val.i == INT64_MIN);
    kv = glimp_gguf_find(g, "t.f64");
    assert_true(kv->val.f == -1e300);
    struct glimp_str s;
    assert_int_equal(glimp_gguf_get_str(g, "t.str", &s), GLIMP_OK);
    assert_int_equal(s.len, strlen("<|im_start|>日本"));
    assert_memory_equal(s.ptr, "<|im_start|>日本", s.len);

    const struct glimp_gguf_value *a;
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_i32", GLIMP_GGUF_I32, &a), GLIMP_OK);
    assert_int_equal(a->arr.n, 5);
    assert_true(glimp_gguf_arr_i64(a, 3) == INT32_MAX);
    assert_true(glimp_gguf_arr_i64(a, 4) == INT32_MIN);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_f32", GLIMP_GGUF_F32, &a), GLIMP_OK);
    assert_true(glimp_gguf_arr_f64(a, 2) == (double)1e30f);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_bool", GLIMP_GGUF_BOOL, &a), GLIMP_OK);
    assert_int_equal(glimp_gguf_arr_u64(a, 0), 1);
    assert_int_equal(glimp_gguf_arr_u64(a, 1), 0);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_u64", GLIMP_GGUF_U64, &a), GLIMP_OK);
    assert_true(glimp_gguf_arr_u64(a, 1) == UINT64_MAX);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_empty", GLIMP_GGUF_U8, &a), GLIMP_OK);
    assert_int_equal(a->arr.n, 0);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_str", GLIMP_GGUF_STR, &a), GLIMP_OK);
    assert_int_equal(a->arr.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(a->arr.strs[i].len, strlen(strs[i]));
        assert_memory_equal(a->arr.strs[i].ptr, strs[i], strlen(strs[i]));
    }

    /* tensors: same bytes as were written, aligned, in the data section */
    uint64_t rng = 7;
    uint64_t n_supported = 0;
    for (uint32_t type = 0; type < GLIMP_TYPE_COUNT; type++) {
        const struct glimp_type_info *ti = glimp_type_info(type);
        if (!ti || !ti->supported)
            continue;
        n_supported++;
        char name[64];
        snprintf(name, sizeof name, "blk.0.%s.weight", ti->name);
        const struct glimp_gguf_tensor *t = glimp_gguf_find_tensor(g, name);
        assert_non_null(t);
        assert_int_equal(t->type, type);
        assert_int_equal(t->n_dims, 2);
        assert_int_equal(t->ne[0], ti->block_size * 3);
        assert_int_equal(t->ne[1], 2);
        assert_int_equal(t->ne[2], 1);
        assert_int_equal(t->offset % alignment, 0);
        assert_int_equal((glimp_gguf_data_offset(g) + t->offset) % alignment, 0);
        assert_ptr_equal(t->data,
                         (const uint8_t *)file_base + glimp_gguf_data_offset(g) + t->offset);
        for (uint64_t i = 0; i < t->nbytes; i++)
            assert_int_equal(((const uint8_t *)t->data)[i], (uint8_t)tu_rng_u64(&rng));
    }
    assert_int_equal(glimp_gguf_n_tensors(g), n_supported);
    assert_int_equal(n_supported, 10);
}

static void test_round_trip(void **state)
{
    (void)state;
    const uint32_t versions[] = {2, 3};
    const uint32_t aligns[] = {32, 64, 1, 4096};
    for (size_t vi = 0; vi < 2; vi++) {
        for (size_t ai = 0; ai < 4; ai++) {
            struct glimp_gguf_writer *w = full_writer(versions[vi], aligns[ai], 7);
            void *mem;
            size_t size;
            assert_int_equal(glimp_gguf_writer_write_memory(w, &mem, &size), GLIMP_OK);
            struct glimp_gguf *g;
            assert_int_equal(glimp_gguf_open_memory(mem, size, &g), GLIMP_OK);
            check_full(g, versions[vi], aligns[ai], mem, w);
            /* general.alignment is written only when it is not the default */
            assert_int_equal(glimp_gguf_find(g, "general.alignment") != NULL, aligns[ai] != 32);
            glimp_gguf_close(g);

            /* the file path gives the same bytes, mapped */
            const char *path = tu_tmp_path("round.gguf");
            assert_int_equal(glimp_gguf_writer_write_file(w, path), GLIMP_OK);
            size_t fsize;
            void *fbytes = tu_read_file(path, &fsize);
            assert_int_equal(fsize, size);
            assert_memory_equal(fbytes, mem, size);
            free(fbytes);
            assert_int_equal(glimp_gguf_open(path, &g), GLIMP_OK);
            assert_int_equal(glimp_gguf_file_size(g), size);
            glimp_gguf_close(g);
            free(mem);
            glimp_gguf_writer_free(w);
        }
    }
}

static void test_getters(void **state)
{
    (void)state;
    struct glimp_gguf_writer *w = full_writer(3, 32, 7);
    void *mem;
    size_t size;
    assert_int_equal(glimp_gguf_writer_write_memory(w, &mem, &size), GLIMP_OK);
    glimp_gguf_writer_free(w);
    struct glimp_gguf *g;
    assert_int_equal(glimp_gguf_open_memory(mem, size, &g), GLIMP_OK);

    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    float f32;
    double f64;
    bool b;
    struct glimp_str s;
    const struct glimp_gguf_value *a;
    /* integers widen and narrow with range checks */
    assert_int_equal(glimp_gguf_get_u32(g, "t.u8", &u32), GLIMP_OK);
    assert_int_equal(u32, 255);
    assert_int_equal(glimp_gguf_get_u32(g, "t.u64", &u32), GLIMP_ERR_RANGE);
    assert_non_null(strstr(glimp_last_error(), "t.u64"));
    assert_int_equal(glimp_gguf_get_u64(g, "t.i8", &u64), GLIMP_ERR_RANGE);
    assert_int_equal(glimp_gguf_get_i64(g, "t.i64", &i64), GLIMP_OK);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(glimp_gguf_get_i64(g, "t.u64", &i64), GLIMP_ERR_RANGE);
    assert_int_equal(glimp_gguf_get_i64(g, "t.u16", &i64), GLIMP_OK);
    assert_int_equal(i64, 65535);
    /* floats */
    assert_int_equal(glimp_gguf_get_f32(g, "t.f32", &f32), GLIMP_OK);
    assert_true(f32 == 1e-6f);
    assert_int_equal(glimp_gguf_get_f32(g, "t.f64", &f32), GLIMP_ERR_RANGE);
    assert_int_equal(glimp_gguf_get_f64(g, "t.f64", &f64), GLIMP_OK);
    /* wrong types name the key and both types */
    assert_int_equal(glimp_gguf_get_u32(g, "t.str", &u32), GLIMP_ERR_TYPE);
    assert_non_null(strstr(glimp_last_error(), "'t.str' has type str"));
    assert_int_equal(glimp_gguf_get_str(g, "t.u32", &s), GLIMP_ERR_TYPE);
    assert_non_null(strstr(glimp_last_error(), "has type u32, expected str"));
    assert_int_equal(glimp_gguf_get_bool(g, "t.f32", &b), GLIMP_ERR_TYPE);
    assert_int_equal(glimp_gguf_get_f64(g, "t.bool", &f64), GLIMP_ERR_TYPE);
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_str", GLIMP_GGUF_I32, &a), GLIMP_ERR_TYPE);
    assert_non_null(strstr(glimp_last_error(), "arr[str], expected arr[i32]"));
    assert_int_equal(glimp_gguf_get_arr(g, "t.arr_str", GLIMP_GGUF_ARR, &a), GLIMP_OK);
    assert_int_equal(glimp_gguf_get_u32(g, "t.arr_i32", &u32), GLIMP_ERR_TYPE);
    /* absent keys */
    assert_int_equal(glimp_gguf_get_u32(g, "nope", &u32), GLIMP_ERR_NOT_FOUND);
    assert_non_null(strstr(glimp_last_error(), "'nope' not found"));
    assert_null(glimp_gguf_find(g, ""));
    assert_null(glimp_gguf_kv_at(g, 1000));
    assert_null(glimp_gguf_tensor_at(g, 1000));
    glimp_gguf_close(g);
    free(mem);
}

/* Nothing but the header: no metadata, no tensors (UBSan once caught a
 * memcpy from NULL here). */
static void test_empty_file(void **state)
{
    (void)state;
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    void *out;
    size_t size;
    assert_int_equal(glimp_gguf_writer_write_memory(w, &out, &size), GLIMP_OK);
    assert_int_equal(size, 32); /* 24-byte header padded to the alignment */
    struct glimp_gguf *g;
    assert_int_equal(glimp_gguf_open_memory(out, size, &g), GLIMP_OK);
    assert_int_equal(glimp_gguf_n_kv(g), 0);
    assert_int_equal(glimp_gguf_n_tensors(g), 0);
    glimp_gguf_close(g);
    free(out);
    glimp_gguf_writer_free(w);
}

/* Open the first b->n bytes of b, which must be accepted. */
static struct glimp_gguf *open_exact(const struct buf *b)
{
    struct glimp_gguf *g = NULL;
    if (glimp_gguf_open_memory(b->d, b->n, &g) != GLIMP_OK)
        fail_msg("a valid file of %zu bytes was rejected: %s", b->n, glimp_last_error());
    return g;
}

/* Valid files whose last value ends exactly at the end of the file, with
 * no tensors (so no padding follows): every bound check must let the last
 * byte be read. The corruption battery (test_gguf_corrupt.c) checks that
 * one byte less is rejected. */
static void test_valid_edge_files(void **state)
{
    (void)state;
    struct buf b;
    struct glimp_gguf *g;
    struct glimp_str s;

    /* the header alone: no keys, no tensors, 24 bytes */
    b_header(&b, 3, 0, 0);
    g = open_exact(&b);
    assert_int_equal(glimp_gguf_n_kv(g), 0);
    glimp_gguf_close(g);

    /* a string value that ends at the end of the file, then an empty one */
    const char *const last[] = {"abc", ""};
    for (int i = 0; i < 2; i++) {
        b_header(&b, 3, 0, 2);
        b_str(&b, "first");
        b_u32(&b, GLIMP_GGUF_U32);
        b_u32(&b, 7);
        b_str(&b, "last");
        b_u32(&b, GLIMP_GGUF_STR);
        b_str(&b, last[i]);
        g = open_exact(&b);
        assert_int_equal(glimp_gguf_n_kv(g), 2);
        assert_int_equal(glimp_gguf_get_str(g, "last", &s), GLIMP_OK);
        assert_int_equal(s.len, strlen(last[i]));
        assert_memory_equal(s.ptr, last[i], s.len);
        glimp_gguf_close(g);
    }

    /* an array of strings whose last string ends there, or is empty there */
    for (int i = 0; i < 2; i++) {
        b_header(&b, 3, 0, 1);
        b_str(&b, "arr");
        b_u32(&b, GLIMP_GGUF_ARR);
        b_u32(&b, GLIMP_GGUF_STR);
        b_u64(&b, 2);
        b_str(&b, "x");
        b_str(&b, last[i]);
        g = open_exact(&b);
        const struct glimp_gguf_kv *kv = glimp_gguf_find(g, "arr");
        assert_non_null(kv);
        assert_int_equal(kv->val.arr.n, 2);
        assert_int_equal(kv->val.arr.strs[1].len, strlen(last[i]));
        glimp_gguf_close(g);
    }

    /* an array of u32 that ends there, and an empty array there */
    for (uint64_t n = 0; n <= 3; n += 3) {
        b_header(&b, 3, 0, 1);
        b_str(&b, "nums");
        b_u32(&b, GLIMP_GGUF_ARR);
        b_u32(&b, GLIMP_GGUF_U32);
        b_u64(&b, n);
        for (uint64_t k = 0; k < n; k++)
            b_u32(&b, (uint32_t)(10 + k));
        g = open_exact(&b);
        const struct glimp_gguf_kv *kv = glimp_gguf_find(g, "nums");
        assert_non_null(kv);
        assert_int_equal(kv->val.arr.n, n);
        glimp_gguf_close(g);
    }

    /* scalars of every fixed size at the end: u8, bool, u16, f32, u64 */
    const struct {
        uint32_t type;
        size_t size;
    } sc[] = {{GLIMP_GGUF_U8, 1}, {GLIMP_GGUF_BOOL, 1}, {GLIMP_GGUF_U16, 2},
              {GLIMP_GGUF_F32, 4}, {GLIMP_GGUF_U64, 8}};
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        b_header(&b, 3, 0, 1);
        b_str(&b, "v");
        b_u32(&b, sc[i].type);
        for (size_t k = 0; k < sc[i].size; k++)
            b_u8(&b, k == 0);
        g = open_exact(&b);
        assert_int_equal(glimp_gguf_find(g, "v")->val.type, sc[i].type);
        glimp_gguf_close(g);
    }

    /* keys of the smallest size (a 1-byte name and a u8: 14 bytes) filling
     * the file exactly: the count check in the header must let them be */
    b_header(&b, 3, 0, 5);
    for (int i = 0; i < 5; i++) {
        char key[2] = {(char)('a' + i), '\0'};
        b_str(&b, key);
        b_u32(&b, GLIMP_GGUF_U8);
        b_u8(&b, (uint8_t)i);
    }
    g = open_exact(&b);
    assert_int_equal(glimp_gguf_n_kv(g), 5);
    glimp_gguf_close(g);

    /* a key of the longest name allowed (GLIMP_GGUF_MAX_NAME, 65535
     * bytes), its u8 value ending the file */
    {
        const size_t name = 65535, size = 24 + 8 + name + 4 + 1;
        uint8_t *big = calloc(size, 1);
        assert_non_null(big);
        memcpy(big, "GGUF", 4);
        big[4] = 3;   /* version */
        big[16] = 1;  /* one key, no tensors */
        big[24] = (uint8_t)name;
        big[25] = (uint8_t)(name >> 8);
        memset(big + 32, 'k', name);
        big[32 + name] = GLIMP_GGUF_U8;
        big[size - 1] = 1;
        if (glimp_gguf_open_memory(big, size, &g) != GLIMP_OK)
            fail_msg("a key of %zu bytes was rejected: %s", name, glimp_last_error());
        assert_int_equal(glimp_gguf_n_kv(g), 1);
        glimp_gguf_close(g);
        free(big);
    }

    /* a tensor whose data ends exactly at the end of the file */
    b_header(&b, 3, 1, 0);
    uint64_t ne[1] = {3};
    b_tensor(&b, "t", 1, ne, GLIMP_TYPE_F32, 0);
    b_pad(&b, 32);
    float x[3] = {1.0f, 2.0f, 3.0f};
    b_raw(&b, x, sizeof x);
    g = open_exact(&b);
    assert_int_equal(glimp_gguf_find_tensor(g, "t")->nbytes, 12);
    glimp_gguf_close(g);
}

static void test_writer_rejects(void **state)
{
    (void)state;
    assert_null(glimp_gguf_writer_init(1, 32));
    assert_null(glimp_gguf_writer_init(3, 24));
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "a", 1), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "a", 2), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "'a' set twice"));
    assert_int_equal(glimp_gguf_writer_set_u32(w, "", 2), GLIMP_ERR_INVALID);
    float x[32] = {0};
    uint64_t ne[2] = {32, 1};
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "t", GLIMP_TYPE_F32, 2, ne, x), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "t", GLIMP_TYPE_F32, 2, ne, x),
                     GLIMP_ERR_INVALID);
    uint64_t bad[1] = {33};
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "q", GLIMP_TYPE_Q8_0, 1, bad, x),
                     GLIMP_ERR_INVALID);
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "u", 4, 1, ne, x), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_gguf_writer_add_tensor(w, "d", GLIMP_TYPE_F32, 5, ne, x),
                     GLIMP_ERR_INVALID);
    assert_int_equal(glimp_gguf_writer_write_file(w, "/nonexistent-dir/x.gguf"), GLIMP_ERR_IO);
    assert_non_null(strstr(glimp_last_error(), "/nonexistent-dir/x.gguf"));
    glimp_gguf_writer_free(w);
    glimp_gguf_writer_free(NULL);
}

/* ---- a file from another writer: llama.cpp's gguf-py */

static void test_ggml_reference_file(void **state)
{
    (void)state;
    struct glimp_gguf *g;
    assert_int_equal(glimp_gguf_open(GLIMP_TEST_DATA "/ggml-ref.gguf", &g), GLIMP_OK);
    json_error_t jerr;
    json_t *ref = json_load_file(GLIMP_TEST_DATA "/ggml-ref.json", 0, &jerr);
    assert_non_null(ref);
    assert_int_equal(glimp_gguf_version(g), json_integer_value(json_object_get(ref, "version")));
    assert_int_equal(glimp_gguf_alignment(g),
                     json_integer_value(json_object_get(ref, "alignment")));
    assert_int_equal(glimp_gguf_data_offset(g),
                     json_integer_value(json_object_get(ref, "data_offset")));

    json_t *kvs = json_object_get(ref, "kv");
    assert_int_equal(glimp_gguf_n_kv(g), json_array_size(kvs));
    static const char *const upper[] = {"UINT8",  "INT8",    "UINT16", "INT16",  "UINT32",
                                        "INT32",  "FLOAT32", "BOOL",   "STRING", "ARRAY",
                                        "UINT64", "INT64",   "FLOAT64"};
    for (size_t i = 0; i < json_array_size(kvs); i++) {
        json_t *e = json_array_get(kvs, i);
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        assert_string_equal(kv->key, json_string_value(json_object_get(e, "key")));
        assert_string_equal(upper[kv->val.type], json_string_value(json_object_get(e, "type")));
        json_t *val = json_object_get(e, "value");
        const struct glimp_gguf_value *v = &kv->val;
        if (v->type == GLIMP_GGUF_ARR) {
            assert_string_equal(upper[v->arr.type],
                                json_string_value(json_object_get(e, "elem_type")));
            assert_int_equal(v->arr.n, json_array_size(val));
            for (uint64_t k = 0; k < v->arr.n; k++) {
                json_t *x = json_array_get(val, k);
                if (v->arr.type == GLIMP_GGUF_STR) {
                    assert_int_equal(v->arr.strs[k].len, json_string_length(x));
                    assert_memory_equal(v->arr.strs[k].ptr, json_string_value(x),
                                        v->arr.strs[k].len);
                } else if (v->arr.type == GLIMP_GGUF_F32 || v->arr.type == GLIMP_GGUF_F64) {
                    assert_true(glimp_gguf_arr_f64(v, k) == json_number_value(x));
                } else if (v->arr.type == GLIMP_GGUF_BOOL) {
                    assert_int_equal(glimp_gguf_arr_u64(v, k), json_is_true(x));
                } else if (json_is_string(x)) {
                    char num[32];
                    if (v->arr.type == GLIMP_GGUF_U64)
                        snprintf(num, sizeof num, "%llu",
                                 (unsigned long long)glimp_gguf_arr_u64(v, k));
                    else
                        snprintf(num, sizeof num, "%lld", (long long)glimp_gguf_arr_i64(v, k));
                    assert_string_equal(num, json_string_value(x));
                } else {
                    assert_true(glimp_gguf_arr_i64(v, k) == json_integer_value(x));
                }
            }
        } else if (v->type == GLIMP_GGUF_STR) {
            assert_int_equal(v->s.len, json_string_length(val));
            assert_memory_equal(v->s.ptr, json_string_value(val), v->s.len);
        } else if (v->type == GLIMP_GGUF_F32 || v->type == GLIMP_GGUF_F64) {
            assert_true(v->f == json_number_value(val));
        } else if (v->type == GLIMP_GGUF_BOOL) {
            assert_int_equal(v->b, json_is_true(val));
        } else if (json_is_string(val)) {
            char num[32];
            if (v->type == GLIMP_GGUF_U64)
                snprintf(num, sizeof num, "%llu", (unsigned long long)v->u);
            else
                snprintf(num, sizeof num, "%lld", (long long)v->i);
            assert_string_equal(num, json_string_value(val));
        } else if (v->type == GLIMP_GGUF_U8 || v->type == GLIMP_GGUF_U16 ||
                   v->type == GLIMP_GGUF_U32) {
            assert_true((json_int_t)v->u == json_integer_value(val));
        } else {
            assert_true(v->i == json_integer_value(val));
        }
    }

    json_t *ts = json_object_get(ref, "tensors");
    assert_int_equal(glimp_gguf_n_tensors(g), json_array_size(ts));
    for (size_t i = 0; i < json_array_size(ts); i++) {
        json_t *e = json_array_get(ts, i);
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        assert_string_equal(t->name, json_string_value(json_object_get(e, "name")));
        assert_string_equal(glimp_type_info(t->type)->name,
                            json_string_value(json_object_get(e, "type")));
        json_t *ne = json_object_get(e, "ne");
        assert_int_equal(t->n_dims, json_array_size(ne));
        for (uint32_t d = 0; d < t->n_dims; d++)
            assert_int_equal(t->ne[d], json_integer_value(json_array_get(ne, d)));
        assert_int_equal(t->offset, json_integer_value(json_object_get(e, "offset")));
        assert_int_equal(t->nbytes, json_integer_value(json_object_get(e, "nbytes")));
    }
    json_decref(ref);
    glimp_gguf_close(g);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct glimp_gguf *g = (struct glimp_gguf *)1;
    assert_int_equal(glimp_gguf_open("/nonexistent/model.gguf", &g), GLIMP_ERR_IO);
    assert_null(g);
    assert_non_null(strstr(glimp_last_error(), "/nonexistent/model.gguf"));
    assert_int_equal(glimp_gguf_open("/tmp", &g), GLIMP_ERR_IO);
    assert_non_null(strstr(glimp_last_error(), "not a regular file"));
    const char *empty = tu_tmp_path("empty.gguf");
    tu_write_file(empty, "", 0);
    assert_int_equal(glimp_gguf_open(empty, &g), GLIMP_ERR_FORMAT);
    assert_non_null(strstr(glimp_last_error(), "empty file"));
    glimp_gguf_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_file),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_ggml_reference_file),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_valid_edge_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
