/* test_gguf_corrupt.c - the reader against hostile files: a valid file cut at
 * every offset, thousands of seeded random corruptions, and one hand-built
 * file for each check the reader promises, each rejected with the right code
 * and a message that names the problem. Run under the sanitizers in CI, so a
 * read out of bounds fails the test even where the result looks right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_bytes.h"
#include "glimp.h"
#include "testutil.h"

/* A valid file with strings, arrays of strings and numbers, and tensors of
 * several types; returns the bytes and where the last tensor's data ends. */
static uint8_t *valid_file(size_t *size, uint64_t *data_end)
{
    struct glimp_gguf_writer *w = glimp_gguf_writer_init(3, 32);
    assert_non_null(w);
    static const char *const toks[] = {"a", "bc", "<|im_end|>", "", "Ġx"};
    assert_int_equal(glimp_gguf_writer_set_str(w, "general.architecture", "qwen3"), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_u32(w, "qwen3.block_count", 2), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_f32(w, "qwen3.rope.freq_base", 1e6f), GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false),
                     GLIMP_OK);
    assert_int_equal(glimp_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", 5, toks), GLIMP_OK);
    int32_t types[5] = {1, 1, 3, 1, 1};
    assert_int_equal(
        glimp_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GLIMP_GGUF_I32, 5, types),
        GLIMP_OK);
    uint8_t data[2048];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    uint64_t ne1[1] = {64};
    uint64_t ne2[2] = {32, 2};
    uint64_t ne3[2] = {256, 1};
    assert_int_equal(
        glimp_gguf_writer_add_tensor(w, "output_norm.weight", GLIMP_TYPE_F32, 1, ne1, data),
        GLIMP_OK);
    assert_int_equal(
        glimp_gguf_writer_add_tensor(w, "blk.0.attn_q.weight", GLIMP_TYPE_Q8_0, 2, ne2, data),
        GLIMP_OK);
    assert_int_equal(
        glimp_gguf_writer_add_tensor(w, "blk.0.ffn_down.weight", GLIMP_TYPE_Q6_K, 2, ne3, data),
        GLIMP_OK);
    void *mem;
    assert_int_equal(glimp_gguf_writer_write_memory(w, &mem, size), GLIMP_OK);
    glimp_gguf_writer_free(w);
    struct glimp_gguf *g;
    assert_int_equal(glimp_gguf_open_memory(mem, *size, &g), GLIMP_OK);
    *data_end = 0;
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        uint64_t end = glimp_gguf_data_offset(g) + t->offset + t->nbytes;
        if (end > *data_end)
            *data_end = end;
    }
    glimp_gguf_close(g);
    return mem;
}

/* What must hold of any file the reader accepts. */
static void check_accepted(const struct glimp_gguf *g, const uint8_t *base, size_t size)
{
    uint64_t align = glimp_gguf_alignment(g);
    assert_true(align > 0 && (align & (align - 1)) == 0);
    for (uint64_t i = 0; i < glimp_gguf_n_kv(g); i++) {
        const struct glimp_gguf_kv *kv = glimp_gguf_kv_at(g, i);
        assert_true(kv->key[0] != '\0');
        const struct glimp_gguf_value *v = &kv->val;
        if (v->type == GLIMP_GGUF_STR)
            assert_true((const uint8_t *)v->s.ptr >= base &&
                        v->s.len <= (uint64_t)(base + size - (const uint8_t *)v->s.ptr));
        if (v->type == GLIMP_GGUF_ARR && v->arr.type == GLIMP_GGUF_STR)
            for (uint64_t k = 0; k < v->arr.n; k++)
                assert_true(v->arr.strs[k].len <=
                            (uint64_t)(base + size - (const uint8_t *)v->arr.strs[k].ptr));
    }
    for (uint64_t i = 0; i < glimp_gguf_n_tensors(g); i++) {
        const struct glimp_gguf_tensor *t = glimp_gguf_tensor_at(g, i);
        const struct glimp_type_info *ti = glimp_type_info(t->type);
        assert_non_null(ti);
        uint64_t nbytes;
        assert_int_equal(glimp_type_nbytes(t->type, t->n_elements, &nbytes), GLIMP_OK);
        assert_true(nbytes == t->nbytes);
        assert_int_equal(t->offset % align, 0);
        const uint8_t *p = t->data;
        assert_true(p >= base && t->nbytes <= (uint64_t)(base + size - p));
        /* touch first and last byte so the sanitizer sees any overrun */
        if (t->nbytes) {
            volatile uint8_t x = p[0];
            x = p[t->nbytes - 1];
            (void)x;
        }
    }
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t size;
    uint64_t data_end;
    uint8_t *file = valid_file(&size, &data_end);
    for (size_t cut = 0; cut < size; cut++) {
        /* an exact-size copy, so reading one byte too far is a sanitizer error */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, file, cut);
        struct glimp_gguf *g = NULL;
        int err = glimp_gguf_open_memory(copy, cut, &g);
        if (cut < data_end) {
            if (err != GLIMP_ERR_FORMAT)
                fail_msg("cut at %zu of %zu: got %d (%s)", cut, size, err, glimp_last_error());
            const char *msg = glimp_last_error();
            assert_true(strstr(msg, "file ends at") || strstr(msg, "past end of file") ||
                        strstr(msg, "not a GGUF file") || strstr(msg, "cannot fit"));
            assert_null(g);
        } else {
            /* only the padding after the last tensor is missing */
            assert_int_equal(err, GLIMP_OK);
            glimp_gguf_close(g);
        }
        free(copy);
    }
    free(file);
}

static void test_random_corruption(void **state)
{
    (void)state;
    size_t size;
    uint64_t data_end;
    uint8_t *file = valid_file(&size, &data_end);
    uint64_t rng = 12345;
    int accepted = 0, rejected = 0;
    static const uint64_t nasty[] = {
        0, 1, 0x7fffffffffffffffULL, UINT64_MAX, 0xffffffff, 0x100000000ULL, 1ULL << 62, 31, 33};
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, file, size);
        int kind = (int)(tu_rng_u64(&rng) % 3);
        size_t at = (size_t)(tu_rng_u64(&rng) % data_end);
        if (kind == 0) { /* flip a few random bits */
            int flips = 1 + (int)(tu_rng_u64(&rng) % 4);
            for (int k = 0; k < flips; k++)
                copy[(at + k * 13) % size] ^= (uint8_t)(1u << (tu_rng_u64(&rng) % 8));
        } else if (kind == 1) { /* a random byte */
            copy[at] = (uint8_t)tu_rng_u64(&rng);
        } else if (at + 8 <= size) { /* a nasty 64-bit value at any offset */
            uint64_t v = nasty[tu_rng_u64(&rng) % (sizeof nasty / sizeof nasty[0])];
            memcpy(copy + at, &v, 8);
        }
        struct glimp_gguf *g = NULL;
        int err = glimp_gguf_open_memory(copy, size, &g);
        if (err == GLIMP_OK) {
            check_accepted(g, copy, size);
            glimp_gguf_close(g);
            accepted++;
        } else {
            assert_true(err == GLIMP_ERR_FORMAT || err == GLIMP_ERR_UNSUPPORTED);
            assert_true(strlen(glimp_last_error()) > 10);
            assert_null(g);
            rejected++;
        }
        free(copy);
    }
    /* both outcomes happen: flips inside tensor data are harmless */
    assert_true(accepted > 100 && rejected > 100);
    free(file);
}

/* Opens b and expects err with msg in the message. */
static void expect(const struct buf *b, int err, const char *msg)
{
    uint8_t *copy = malloc(b->n ? b->n : 1);
    memcpy(copy, b->d, b->n);
    struct glimp_gguf *g = NULL;
    int got = glimp_gguf_open_memory(copy, b->n, &g);
    if (got != err || !strstr(glimp_last_error(), msg))
        fail_msg("expected %d with '%s', got %d: '%s'", err, msg, got, glimp_last_error());
    if (err == GLIMP_OK)
        glimp_gguf_close(g);
    else
        assert_null(g);
    free(copy);
}

static void test_header_errors(void **state)
{
    (void)state;
    struct buf b;
    memset(&b, 0, sizeof b);
    b_raw(&b, "GG", 2);
    expect(&b, GLIMP_ERR_FORMAT, "not a GGUF file: starts with 'GG'");
    b_header(&b, 3, 0, 0);
    b.d[3] = 'X';
    expect(&b, GLIMP_ERR_FORMAT, "expected 'GGUF'");
    b_header(&b, 1, 0, 0);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "GGUF version 1 is not supported");
    b_header(&b, 0x03000000u, 0, 0);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "big-endian");
    b_header(&b, 7, 0, 0);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "unknown GGUF version 7");
    b_header(&b, 3, 0, 0);
    b.n = 12;
    expect(&b, GLIMP_ERR_FORMAT, "header: tensor count at offset 8 needs 8 bytes");
    b_header(&b, 3, 0, 1ULL << 62);
    expect(&b, GLIMP_ERR_FORMAT, "metadata count 4611686018427387904 cannot fit");
    b_header(&b, 2, UINT64_MAX, 0);
    expect(&b, GLIMP_ERR_FORMAT, "tensor count 18446744073709551615 cannot fit");
    /* an empty but valid file */
    b_header(&b, 2, 0, 0);
    expect(&b, GLIMP_OK, "");
}

static void test_metadata_errors(void **state)
{
    (void)state;
    struct buf b;
    b_header(&b, 3, 0, 1);
    b_u64(&b, 1ULL << 63);
    b_raw(&b, "key", 3);
    b_u64(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT,
           "metadata entry #0: key at offset 24 has length "
           "9223372036854775808, past end of file (size 43)");
    b_header(&b, 3, 0, 1);
    b_u64(&b, 3);
    b_raw(&b, "a\0b", 3);
    b_u32(&b, 4);
    b_u32(&b, 1);
    expect(&b, GLIMP_ERR_FORMAT, "contains a NUL byte");
    b_header(&b, 3, 0, 1);
    b_str(&b, "");
    b_u32(&b, 4);
    b_u32(&b, 1);
    expect(&b, GLIMP_ERR_FORMAT, "empty key");
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 13);
    b_u32(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT, "key 'k': unknown value type 13");
    b_header(&b, 3, 0, 1);
    b_str(&b, "s");
    b_u32(&b, 8);
    b_u64(&b, UINT64_MAX);
    expect(&b, GLIMP_ERR_FORMAT,
           "key 's': string value at offset 37 has length "
           "18446744073709551615, past end of file");
    b_header(&b, 3, 0, 1);
    b_str(&b, "b");
    b_u32(&b, 7);
    b_u8(&b, 2);
    expect(&b, GLIMP_ERR_FORMAT, "key 'b': bool value 2 is neither 0 nor 1");
    b_header(&b, 3, 0, 1);
    b_str(&b, "u");
    b_u32(&b, 10);
    b_u32(&b, 5);
    expect(&b, GLIMP_ERR_FORMAT, "key 'u': value at offset 37 needs 8 bytes");
    /* arrays */
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 4);
    b_u64(&b, 1ULL << 61);
    expect(&b, GLIMP_ERR_FORMAT, "key 'a': array of 2305843009213693952 u32");
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 8);
    b_u64(&b, 1ULL << 60);
    expect(&b, GLIMP_ERR_FORMAT, "array of 1152921504606846976 strings");
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 8);
    b_u64(&b, 2);
    b_str(&b, "ok");
    b_u64(&b, 100);
    expect(&b, GLIMP_ERR_FORMAT, "key 'a': string 1 of the array at offset");
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 9);
    b_u64(&b, 0);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "arrays of arrays");
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 77);
    b_u64(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT, "unknown array element type 77");
    b_header(&b, 3, 0, 1);
    b_str(&b, "a");
    b_u32(&b, 9);
    b_u32(&b, 7);
    b_u64(&b, 3);
    b_u8(&b, 1);
    b_u8(&b, 0);
    b_u8(&b, 5);
    expect(&b, GLIMP_ERR_FORMAT, "bool element 2 is 5");
    /* duplicates and alignment */
    b_header(&b, 3, 0, 2);
    b_str(&b, "a");
    b_u32(&b, 4);
    b_u32(&b, 1);
    b_str(&b, "a");
    b_u32(&b, 4);
    b_u32(&b, 2);
    expect(&b, GLIMP_ERR_FORMAT, "duplicate key 'a'");
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, 4);
    b_u32(&b, 24);
    expect(&b, GLIMP_ERR_FORMAT, "'general.alignment' is 24, not a power of two");
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, 4);
    b_u32(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT, "'general.alignment' is 0, not a power of two");
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, 10);
    b_u64(&b, 32);
    expect(&b, GLIMP_ERR_FORMAT, "'general.alignment' has type u64, expected u32");
}

/* a file with one tensor info and enough zero bytes of data */
static void one_tensor(struct buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                       uint32_t type, uint64_t offset, size_t data)
{
    b_header(b, 3, 1, 0);
    b_tensor(b, name, n_dims, ne, type, offset);
    b_pad(b, 32);
    for (size_t i = 0; i < data; i++)
        b_u8(b, 0);
}

static void test_tensor_errors(void **state)
{
    (void)state;
    struct buf b;
    uint64_t ne[4] = {32, 2, 1, 1};
    one_tensor(&b, "w", 2, ne, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_OK, "");
    one_tensor(&b, "w", 0, ne, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': 0 dimensions (must be 1 to 4)");
    one_tensor(&b, "w", 5, (uint64_t[5]){1, 1, 1, 1, 1}, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': 5 dimensions");
    one_tensor(&b, "w", 2, (uint64_t[2]){32, 0}, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': dimension 1 is 0");
    one_tensor(&b, "w", 2, (uint64_t[2]){1ULL << 32, 1ULL << 32}, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': element count overflows (dimension 1 is 4294967296)");
    one_tensor(&b, "w", 1, (uint64_t[1]){1ULL << 63}, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': dimension 0 is 9223372036854775808");
    /* 2^61 F32 elements: the byte size overflows 64 bits */
    one_tensor(&b, "w", 1, (uint64_t[1]){1ULL << 62}, GLIMP_TYPE_F32, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT,
           "tensor 'w': 4611686018427387904 elements of type F32: size overflows 64 bits");
    one_tensor(&b, "w", 2, ne, 4, 0, 256);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "tensor 'w': unknown tensor type 4");
    one_tensor(&b, "w", 2, ne, 1000, 0, 256);
    expect(&b, GLIMP_ERR_UNSUPPORTED, "unknown tensor type 1000");
    one_tensor(&b, "w", 2, (uint64_t[2]){33, 1}, GLIMP_TYPE_Q8_0, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT,
           "tensor 'w': row of 33 elements is not a multiple of the Q8_0 block size 32");
    one_tensor(&b, "w", 2, (uint64_t[2]){128, 1}, GLIMP_TYPE_Q4_K, 0, 256);
    expect(&b, GLIMP_ERR_FORMAT, "not a multiple of the Q4_K block size 256");
    one_tensor(&b, "w", 2, ne, GLIMP_TYPE_F32, 8, 256);
    expect(&b, GLIMP_ERR_FORMAT, "tensor 'w': data offset 8 is not a multiple of the alignment 32");

    /* data past the end, with the message the issue asks for */
    uint64_t big[2] = {1024, 256}; /* 1 MiB of F32 */
    one_tensor(&b, "blk.3.attn_q.weight", 2, big, GLIMP_TYPE_F32, 32, 100);
    char msg[200];
    size_t data_start = 24 + 8 + 19 + 4 + 16 + 4 + 8;
    data_start = (data_start + 31) / 32 * 32;
    snprintf(msg, sizeof msg,
             "tensor 'blk.3.attn_q.weight': data [offset %zu, 1048576 bytes] past end of file "
             "(size %zu)",
             data_start + 32, b.n);
    expect(&b, GLIMP_ERR_FORMAT, msg);
    one_tensor(&b, "w", 2, ne, GLIMP_TYPE_F32, UINT64_MAX - 31, 256);
    expect(&b, GLIMP_ERR_FORMAT, "past end of file");

    /* the data section itself past the end */
    b_header(&b, 3, 1, 0);
    b_tensor(&b, "w", 1, ne, GLIMP_TYPE_F32, 0);
    expect(&b, GLIMP_ERR_FORMAT, "data section at offset 64 starts past end of file (size 57)");

    /* duplicate names, overlapping data */
    b_header(&b, 3, 2, 0);
    b_tensor(&b, "w", 1, ne, GLIMP_TYPE_F32, 0);
    b_tensor(&b, "w", 1, ne, GLIMP_TYPE_F32, 128);
    b_pad(&b, 32);
    for (int i = 0; i < 256; i++)
        b_u8(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT, "duplicate tensor name 'w'");
    b_header(&b, 3, 2, 0);
    b_tensor(&b, "a", 1, ne, GLIMP_TYPE_F32, 64);
    b_tensor(&b, "b", 1, ne, GLIMP_TYPE_F32, 32);
    b_pad(&b, 32);
    for (int i = 0; i < 256; i++)
        b_u8(&b, 0);
    expect(&b, GLIMP_ERR_FORMAT,
           "tensors 'b' [offset 128, 128 bytes] and 'a' [offset 160] overlap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_everywhere), cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_header_errors),        cmocka_unit_test(test_metadata_errors),
        cmocka_unit_test(test_tensor_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
