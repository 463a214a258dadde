/* test_batch.c - many sequences in one forward pass (glimp_ctx_decode): each
 * sequence's logits in mixed batches (decoding and prefilling sequences
 * together, different lengths, sequences joining, leaving and rolling
 * back, passes split in chunks) bit for bit those of the sequence run
 * alone, on every kernel table the CPU runs (and "avx512-emulated"), each
 * fast one bit for bit the scalar one; refused batches that change
 * nothing for any sequence; KV caches that grow with the sequence and give
 * memory back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "glimp_testmodel.h"
#include "kern_amx_emu.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ------------------------------------------------------------- helpers */

struct mcfg {
    const char *arch;
    uint32_t type;
    bool wide; /* 256 wide (K-quants need rows of 256) */
};

static const char *write_model(const struct mcfg *c, const char *name)
{
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = c->arch;
    p.weight_type = c->type;
    p.tied_output = false;
    p.rope_base = 10000.0f;
    p.seed = 77 + c->type + (uint64_t)c->arch[0];
    if (c->wide) {
        p.n_embd = 256;
        p.n_ff = 512;
    }
    const char *path = tu_tmp_path(name);
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("glimp_testmodel_write(%s): %s", name, glimp_last_error());
    return path;
}

/* The model on the kernels named, or NULL (after saying so) when this CPU
 * or build cannot run them. */
static struct glimp_model *load_kernels(const char *path, const char *kernels)
{
    struct glimp_model_params mp = glimp_model_default_params();
    mp.kernels = kernels;
    struct glimp_model *m = NULL;
    int rc = glimp_model_load(path, &mp, &m);
    if (rc == GLIMP_ERR_UNSUPPORTED) {
        printf("    kernels %s: skipped (%s)\n", kernels ? kernels : "auto", glimp_last_error());
        return NULL;
    }
    if (rc != GLIMP_OK)
        fail_msg("glimp_model_load(%s, kernels %s): %s", path, kernels ? kernels : "auto",
                 glimp_last_error());
    return m;
}

static struct glimp_ctx *ctx_ok(const struct glimp_model *m, uint32_t n_batch, uint32_t n_threads)
{
    struct glimp_ctx_params cp = glimp_ctx_default_params();
    cp.n_batch = n_batch;
    cp.n_threads = n_threads;
    struct glimp_ctx *c = NULL;
    if (glimp_ctx_init(m, &cp, &c) != GLIMP_OK)
        fail_msg("glimp_ctx_init: %s", glimp_last_error());
    return c;
}

static struct glimp_seq *seq_ok(const struct glimp_model *m, uint32_t n_ctx)
{
    struct glimp_seq *s = NULL;
    if (glimp_seq_init(m, n_ctx, &s) != GLIMP_OK)
        fail_msg("glimp_seq_init: %s", glimp_last_error());
    return s;
}

static void decode_ok(struct glimp_ctx *c, struct glimp_batch_item *items, size_t n)
{
    if (glimp_ctx_decode(c, items, n) != GLIMP_OK)
        fail_msg("glimp_ctx_decode(%zu items): %s", n, glimp_last_error());
}

static void random_ids(uint64_t seed, uint32_t n_vocab, int32_t *ids, size_t n)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)(tu_rng_u64(&st) % n_vocab);
}

static void same_bits(const float *a, const float *b, uint32_t n_vocab, const char *what,
                      size_t seq, size_t pos)
{
    if (memcmp(a, b, n_vocab * sizeof *a) == 0)
        return;
    for (uint32_t i = 0; i < n_vocab; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0)
            fail_msg("%s: sequence %zu, position %zu, logit %u: %.9g vs %.9g", what, seq, pos, i,
                     (double)a[i], (double)b[i]);
}

/* Logits of every position of ids, appended alone in one call to a fresh
 * sequence in a context of its own: what every batch must reproduce. */
static float *alone(struct glimp_model *m, const int32_t *ids, uint32_t n)
{
    uint32_t V = glimp_model_info(m)->n_vocab;
    struct glimp_ctx *c = ctx_ok(m, 0, 1);
    struct glimp_seq *s = seq_ok(m, 0);
    const float *lg = NULL;
    if (glimp_seq_append(c, s, ids, n, true, &lg) != GLIMP_OK)
        fail_msg("alone: %s", glimp_last_error());
    float *out = malloc((size_t)n * V * sizeof *out);
    assert_non_null(out);
    memcpy(out, lg, (size_t)n * V * sizeof *out);
    glimp_seq_free(s);
    glimp_ctx_free(c);
    return out;
}

/* ------------------------------------------------------- mixed batches */

#define N_SEQ 7

/* Sequences of different lengths (one past a KV page, so its cache grows
 * while others are batched with it) joining at different passes. */
static const uint32_t seq_len[N_SEQ] = {40, 7, 23, 300, 1, 15, 60};
static const uint32_t seq_join[N_SEQ] = {0, 0, 2, 1, 5, 9, 3};
static const uint32_t seq_ctx[N_SEQ] = {40, 0, 64, 0, 1, 300, 0}; /* 0: the model's */
#define ROLLBACK_SEQ 2 /* rolls back from 15 tokens to 6, once */

/* One model on one kernel table: random passes over the sequences, each
 * checked against the sequence alone. False when the table was skipped. */
static bool mixed_batches(const char *path, const char *name, const char *kernels, uint64_t seed)
{
    struct glimp_model *m = load_kernels(path, kernels);
    if (!m)
        return false;
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t *ids[N_SEQ];
    float *want[N_SEQ];
    for (size_t i = 0; i < N_SEQ; i++) {
        ids[i] = malloc(seq_len[i] * sizeof *ids[i]);
        assert_non_null(ids[i]);
        random_ids(seed * 100 + i, V, ids[i], seq_len[i]);
        want[i] = alone(m, ids[i], seq_len[i]);
    }

    /* contexts taken in turn: chunks of 5 (items straddle chunks) on one
     * thread, of 64 on three */
    struct glimp_ctx *cx[2] = {ctx_ok(m, 5, 1), ctx_ok(m, 64, 3)};
    struct glimp_seq *s[N_SEQ] = {0};
    uint32_t done[N_SEQ] = {0}; /* tokens each holds */
    bool rolled = false, left[N_SEQ] = {0};
    const float *held[N_SEQ] = {0};          /* the logits each last gave */
    uint32_t held_pos[N_SEQ], held_n[N_SEQ]; /* their first position, rows */
    const float *out[N_SEQ];
    struct glimp_batch_item items[N_SEQ];
    size_t who[N_SEQ];
    uint64_t rng = seed;
    size_t n_left = 0, passes = 0, shared = 0;
    for (uint32_t pass = 0; n_left < N_SEQ; pass++) {
        assert_true(pass < 1000);
        size_t n = 0;
        for (size_t i = 0; i < N_SEQ; i++) {
            if (left[i] || pass < seq_join[i])
                continue;
            if (!s[i])
                s[i] = seq_ok(m, seq_ctx[i]);
            if (tu_rng_u64(&rng) % 4 == 0)
                continue; /* sits this pass out */
            uint32_t rest = seq_len[i] - done[i];
            uint32_t k = tu_rng_u64(&rng) % 3 == 0 ? 1 + (uint32_t)(tu_rng_u64(&rng) % 12) : 1;
            if (i == 3)
                k = done[i] < 200 ? 40 : 4 * k; /* a long prompt, in pieces */
            k = k < rest ? k : rest;
            uint64_t r = tu_rng_u64(&rng) % 8;
            items[n] = (struct glimp_batch_item){
                .seq = s[i],
                .ids = ids[i] + done[i],
                .n = k,
                .all_logits = r < 3,
                .logits = r == 7 ? NULL : &out[i],
            };
            who[n++] = i;
        }
        /* the items in a random order */
        for (size_t a = n; a > 1; a--) {
            size_t b = tu_rng_u64(&rng) % a;
            struct glimp_batch_item t = items[a - 1];
            items[a - 1] = items[b];
            items[b] = t;
            size_t w = who[a - 1];
            who[a - 1] = who[b];
            who[b] = w;
        }
        if (n == 0)
            continue;
        struct glimp_ctx *c = cx[pass % 2];
        if (n == 1 && pass % 3 == 0) { /* an append is a batch of one */
            assert_int_equal(glimp_seq_append(c, items[0].seq, items[0].ids, items[0].n,
                                              items[0].all_logits, items[0].logits),
                             GLIMP_OK);
        } else {
            decode_ok(c, items, n);
        }
        passes++;
        shared += n > 1;
        for (size_t j = 0; j < n; j++) {
            size_t i = who[j];
            uint32_t k = items[j].n;
            assert_int_equal(glimp_seq_len(s[i]), done[i] + k);
            if (items[j].logits) {
                held[i] = out[i];
                held_pos[i] = items[j].all_logits ? done[i] : done[i] + k - 1;
                held_n[i] = items[j].all_logits ? k : 1;
            } else {
                held[i] = NULL;
            }
            done[i] += k;
        }
        /* what every sequence last gave, whether or not it was in this
         * pass, is still its own */
        for (size_t i = 0; i < N_SEQ; i++)
            for (uint32_t r = 0; held[i] && r < held_n[i]; r++)
                same_bits(held[i] + (size_t)r * V, want[i] + (size_t)(held_pos[i] + r) * V, V,
                          "batched against alone", i, held_pos[i] + r);
        for (size_t i = 0; i < N_SEQ; i++) {
            if (i == ROLLBACK_SEQ && !rolled && done[i] >= 15) {
                assert_int_equal(glimp_seq_truncate(s[i], 6), GLIMP_OK);
                done[i] = 6;
                held[i] = NULL;
                rolled = true;
            }
            if (s[i] && !left[i] && done[i] == seq_len[i]) { /* leaves */
                glimp_seq_free(s[i]);
                s[i] = NULL;
                held[i] = NULL;
                left[i] = true;
                n_left++;
            }
        }
    }
    assert_true(rolled);
    printf("    %s, kernels %s: %zu passes, %zu of them shared\n", name, kernels, passes, shared);
    assert_true(shared >= 10); /* most passes carry several sequences */
    for (size_t i = 0; i < N_SEQ; i++) {
        free(ids[i]);
        free(want[i]);
    }
    glimp_ctx_free(cx[0]);
    glimp_ctx_free(cx[1]);
    glimp_model_free(m);
    return true;
}

static const char *const tables[] = {"ref",     "scalar", "avx2",
                                     "avxvnni", "avx512", "avx512-emulated"};
/* amx: numerics of their own, batch invariant all the same */
static const char *const amx_tables[] = {"amx", "amx-emulated"};

/* The tables of the fast algorithm give the scalar table's bits: one
 * sequence of 70 tokens (every tile shape and leftover of the prefill), on
 * kernels against scalar. */
static void same_as_scalar(const char *path, const char *kernels)
{
    struct glimp_model *m = load_kernels(path, kernels);
    if (!m)
        return;
    struct glimp_model *ms = load_kernels(path, "scalar");
    uint32_t V = glimp_model_info(m)->n_vocab, n = 70;
    int32_t ids[70];
    random_ids(4242, V, ids, n);
    float *a = alone(m, ids, n), *b = alone(ms, ids, n);
    for (uint32_t t = 0; t < n; t++)
        same_bits(a + (size_t)t * V, b + (size_t)t * V, V, kernels, 0, t);
    free(a), free(b);
    glimp_model_free(m);
    glimp_model_free(ms);
}

static void test_mixed(void **state)
{
    (void)state;
    const struct mcfg models[] = {
        {.arch = "qwen3", .type = GLIMP_TYPE_Q8_0},
        {.arch = "qwen2", .type = GLIMP_TYPE_Q4_K, .wide = true},
        {.arch = "llama", .type = GLIMP_TYPE_F16},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "mixed-%s-%02u.gguf", models[i].arch, models[i].type);
        const char *p = write_model(&models[i], name);
        char path[512];
        snprintf(path, sizeof path, "%s", p);
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
            /* the emulation is slow (minutes under the sanitizers): its
             * batches on the first model, its bits on all three */
            if (!strcmp(tables[t], "avx512-emulated") && i > 0)
                same_as_scalar(path, tables[t]);
            else if (mixed_batches(path, name, tables[t], 1 + i * 10 + t) && t >= 2)
                same_as_scalar(path, tables[t]);
        }
        for (size_t t = 0; t < sizeof amx_tables / sizeof amx_tables[0]; t++)
            mixed_batches(path, name, amx_tables[t], 5 + i * 10 + t);
    }
}

/* ------------------------------------------------------------- refusals */

/* A refused decode changes nothing for any of its sequences: their lengths,
 * the logits they last gave, and what they compute next. */
static void test_refused(void **state)
{
    (void)state;
    struct mcfg cf = {.arch = "qwen2", .type = GLIMP_TYPE_Q8_0};
    const char *path = write_model(&cf, "refused.gguf");
    struct glimp_model *m = load_kernels(path, NULL);
    struct glimp_model *other = load_kernels(path, NULL);
    uint32_t V = glimp_model_info(m)->n_vocab;
    int32_t a[16], b[40], cc[40];
    random_ids(1, V, a, 16);
    random_ids(2, V, b, 40);
    random_ids(3, V, cc, 40);
    float *wa = alone(m, a, 16), *wb = alone(m, b, 40), *wc = alone(m, cc, 40);
    struct glimp_ctx *c = ctx_ok(m, 0, 0);
    struct glimp_seq *sa = seq_ok(m, 16), *sb = seq_ok(m, 64), *sc = seq_ok(m, 64);
    struct glimp_seq *so = seq_ok(other, 64);
    const float *la = NULL, *lb = NULL, *lc = NULL;
    struct glimp_batch_item it[3] = {
        {.seq = sa, .ids = a, .n = 10, .logits = &la},
        {.seq = sb, .ids = b, .n = 5, .all_logits = true, .logits = &lb},
    };
    decode_ok(c, it, 2);
    assert_non_null(la);
    assert_non_null(lb);

    /* each refusal below must leave sa at 10 (la its position 9), sb at 5
     * (lb its positions 0..4) and sc empty */
#define UNCHANGED()                                                                                \
    do {                                                                                           \
        assert_int_equal(glimp_seq_len(sa), 10);                                                   \
        assert_int_equal(glimp_seq_len(sb), 5);                                                    \
        assert_int_equal(glimp_seq_len(sc), 0);                                                    \
        same_bits(la, wa + 9 * V, V, "a after a refusal", 0, 9);                                   \
        for (size_t t = 0; t < 5; t++)                                                             \
            same_bits(lb + t * V, wb + t * V, V, "b after a refusal", 1, t);                       \
    } while (0)

    const float *keep = (const float *)1;
    /* one item past its context, after one that fits (and needs a larger
     * all-logits buffer) */
    it[0] = (struct glimp_batch_item){
        .seq = sb, .ids = b + 5, .n = 8, .all_logits = true, .logits = &keep};
    it[1] = (struct glimp_batch_item){.seq = sa, .ids = a + 10, .n = 7, .logits = &keep};
    assert_int_equal(glimp_ctx_decode(c, it, 2), GLIMP_ERR_RANGE);
    assert_string_equal(glimp_last_error(),
                        "decode: item 1: sequence would hold 17 tokens, context is 16");
    assert_ptr_equal(keep, (const float *)1);
    UNCHANGED();
    /* the same sequence twice */
    it[1] = (struct glimp_batch_item){.seq = sc, .ids = cc, .n = 2, .logits = &keep};
    it[2] = (struct glimp_batch_item){.seq = sb, .ids = b + 5, .n = 1, .logits = &keep};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: item 2: the sequence is item 0's too");
    UNCHANGED();
    /* an id outside the vocabulary in the last item */
    int32_t bad[2] = {cc[0], (int32_t)V};
    it[2] = (struct glimp_batch_item){.seq = sa, .ids = bad, .n = 2, .logits = &keep};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_RANGE);
    assert_non_null(strstr(glimp_last_error(), "decode: item 2: token id"));
    assert_non_null(strstr(glimp_last_error(), "at index 1 is outside the vocabulary"));
    UNCHANGED();
    /* no tokens, no sequence, no ids, a sequence of another model */
    it[2] = (struct glimp_batch_item){.seq = sa, .ids = a + 10, .n = 0};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: item 2: no tokens given");
    it[2] = (struct glimp_batch_item){.seq = NULL, .ids = a, .n = 1};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: item 2: no sequence given");
    it[2] = (struct glimp_batch_item){.seq = sa, .ids = NULL, .n = 1};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: item 2: no ids given");
    it[2] = (struct glimp_batch_item){.seq = so, .ids = a, .n = 1};
    assert_int_equal(glimp_ctx_decode(c, it, 3), GLIMP_ERR_INVALID);
    assert_non_null(strstr(glimp_last_error(), "item 2: the context and the sequence belong to"));
    assert_int_equal(glimp_ctx_decode(c, it, 0), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: no items given");
    assert_int_equal(glimp_ctx_decode(c, NULL, 2), GLIMP_ERR_INVALID);
    assert_int_equal(glimp_ctx_decode(NULL, it, 2), GLIMP_ERR_INVALID);
    assert_string_equal(glimp_last_error(), "decode: no context given");
    assert_ptr_equal(keep, (const float *)1);
    UNCHANGED();

#if !defined(UNDER_ASAN)
    /* Memory that cannot be had, with the address space capped: the first
     * item's KV cache and all-logits buffer are had, the second item's KV
     * cache too, its all-logits buffer not. Nothing visible changes: sb's
     * logits are still where they were (the new buffer is not put in). */
    struct glimp_seq *big = seq_ok(m, 1u << 22);
    uint32_t n_big = 200000;
    int32_t *ids_big = calloc(n_big, sizeof *ids_big);
    assert_non_null(ids_big);
    size_t kv_big = (size_t)n_big * 2 * glimp_model_info(m)->n_layer *
                    glimp_model_info(m)->n_head_kv * glimp_model_info(m)->head_dim * 4;
    size_t logits_big = (size_t)n_big * V * 4;
    assert_true(logits_big > kv_big + (64u << 20));
    struct rlimit old, cap;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    FILE *f = fopen("/proc/self/status", "r");
    unsigned long long vm_kb = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &vm_kb) == 1)
            break;
    if (f)
        fclose(f);
    if (vm_kb) {
        cap = old;
        cap.rlim_cur = (rlim_t)(vm_kb * 1024 + kv_big + (64u << 20));
        it[0] = (struct glimp_batch_item){
            .seq = sb, .ids = b + 5, .n = 8, .all_logits = true, .logits = &keep};
        it[1] = (struct glimp_batch_item){
            .seq = big, .ids = ids_big, .n = n_big, .all_logits = true, .logits = &keep};
        assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
        int rc = glimp_ctx_decode(c, it, 2);
        assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
        assert_int_equal(rc, GLIMP_ERR_NOMEM);
        assert_non_null(strstr(glimp_last_error(), "out of memory for the logits of 200000"));
        assert_int_equal(glimp_seq_len(big), 0);
        UNCHANGED();
        assert_int_equal(glimp_seq_truncate(big, 0), GLIMP_OK); /* gives back what it had */
        assert_true(glimp_seq_bytes(big) < (1u << 20));
    } else {
        printf("    no VmSize in /proc/self/status: out-of-memory case skipped\n");
    }
    free(ids_big);
    glimp_seq_free(big);
#else
    printf("    address sanitizer: out-of-memory case skipped\n");
#endif

    /* and all go on as if nothing had happened */
    it[0] = (struct glimp_batch_item){.seq = sa, .ids = a + 10, .n = 6, .logits = &la};
    it[1] =
        (struct glimp_batch_item){.seq = sc, .ids = cc, .n = 40, .all_logits = true, .logits = &lc};
    it[2] = (struct glimp_batch_item){.seq = sb, .ids = b + 5, .n = 35, .logits = &lb};
    decode_ok(c, it, 3);
    same_bits(la, wa + 15 * V, V, "a after the refusals", 0, 15);
    same_bits(lb, wb + 39 * V, V, "b after the refusals", 1, 39);
    for (size_t t = 0; t < 40; t++)
        same_bits(lc + t * V, wc + t * V, V, "c after the refusals", 2, t);
#undef UNCHANGED
    glimp_seq_free(sa);
    glimp_seq_free(sb);
    glimp_seq_free(sc);
    glimp_seq_free(so);
    glimp_ctx_free(c);
    free(wa);
    free(wb);
    free(wc);
    glimp_model_free(other);
    glimp_model_free(m);
}

/* ------------------------------------------------------------ KV memory */

/* A sequence pays for the positions it holds (in pages of 256, doubling),
 * not for its context; a rollback to a quarter gives memory back, a
 * cancelled one (length 0) all of it; the logits do not notice. */
static void test_kv_memory(void **state)
{
    (void)state;
    struct mcfg cf = {.arch = "llama", .type = GLIMP_TYPE_Q8_0};
    struct glimp_model *m = load_kernels(write_model(&cf, "mem.gguf"), NULL);
    const struct glimp_model_info *h = glimp_model_info(m);
    uint32_t V = h->n_vocab;
    size_t per_pos = (size_t)2 * h->n_layer * h->n_head_kv * h->head_dim * sizeof(float);
    enum { N = 1100 };
    int32_t *ids = malloc(N * sizeof *ids);
    assert_non_null(ids);
    random_ids(9, V, ids, N);
    float *want = alone(m, ids, N);
    struct glimp_ctx *c = ctx_ok(m, 0, 0);

    struct glimp_seq *s = seq_ok(m, 32768);
    size_t base = glimp_seq_bytes(s);
    assert_true(base < (size_t)V * 4 + 4096); /* no KV cache yet */
    assert_int_equal(glimp_seq_bytes(NULL), 0);
    const float *lg = NULL;
    struct glimp_batch_item it = {.seq = s, .ids = ids, .n = 10, .logits = &lg};
    decode_ok(c, &it, 1);
    assert_int_equal(glimp_seq_bytes(s) - base, 256 * per_pos); /* one page */
    it = (struct glimp_batch_item){.seq = s, .ids = ids + 10, .n = 290, .logits = &lg};
    decode_ok(c, &it, 1);
    assert_int_equal(glimp_seq_bytes(s) - base, 512 * per_pos); /* doubled */
    for (uint32_t t = 300; t < N; t += 100) {                   /* 1100 tokens: 2048 positions */
        it = (struct glimp_batch_item){.seq = s, .ids = ids + t, .n = 100, .logits = &lg};
        decode_ok(c, &it, 1);
        same_bits(lg, want + (size_t)(t + 99) * V, V, "growing", 0, t + 99);
    }
    assert_int_equal(glimp_seq_bytes(s) - base, 2048 * per_pos);
    /* a short rollback keeps the cache, a long one gives most back */
    assert_int_equal(glimp_seq_truncate(s, 1000), GLIMP_OK);
    assert_int_equal(glimp_seq_bytes(s) - base, 2048 * per_pos);
    assert_int_equal(glimp_seq_truncate(s, 400), GLIMP_OK);
    assert_int_equal(glimp_seq_bytes(s) - base, 512 * per_pos);
    it = (struct glimp_batch_item){
        .seq = s, .ids = ids + 400, .n = 300, .all_logits = true, .logits = &lg};
    decode_ok(c, &it, 1);
    for (size_t t = 0; t < 300; t++)
        same_bits(lg + t * V, want + (400 + t) * V, V, "after a rollback", 0, 400 + t);
    assert_int_equal(glimp_seq_bytes(s) - base, 1024 * per_pos + (size_t)300 * V * 4);
    /* cancelled: all of the KV cache back */
    assert_int_equal(glimp_seq_truncate(s, 0), GLIMP_OK);
    assert_int_equal(glimp_seq_bytes(s) - base, (size_t)300 * V * 4);
    it = (struct glimp_batch_item){.seq = s, .ids = ids, .n = 3, .logits = &lg};
    decode_ok(c, &it, 1);
    same_bits(lg, want + 2 * V, V, "after a cancel", 0, 2);

    /* a context smaller than a page holds just that */
    struct glimp_seq *small = seq_ok(m, 20);
    it = (struct glimp_batch_item){.seq = small, .ids = ids, .n = 20, .logits = &lg};
    decode_ok(c, &it, 1);
    assert_int_equal(glimp_seq_bytes(small) - base, 20 * per_pos);
    same_bits(lg, want + 19 * V, V, "a small context", 1, 19);
    glimp_seq_free(small);
    glimp_seq_free(s);
    glimp_ctx_free(c);
    free(want);
    free(ids);
    glimp_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_kv_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
