/* test_batcher.c - continuous batching in the local backend (batcher.c):
 * sequences driven from many threads at once, whose appends share forward
 * passes, give bit for bit what each gives alone (prompts cut in chunks,
 * generation, verification blocks, rollbacks); they did share passes; a
 * refused append fails its own caller only, with the message an append
 * alone gives, and leaves its sequence as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "glimp_testmodel.h"
#include "testutil.h"

#define N_THREADS 8
#define GEN 20

static const char *model_path(void)
{
    static const char *path;
    if (path)
        return path;
    struct glimp_testmodel_params p = glimp_testmodel_default_params();
    p.arch = "qwen3";
    p.weight_type = GLIMP_TYPE_Q8_0;
    p.seed = 4242;
    path = tu_tmp_path("batcher.gguf");
    if (glimp_testmodel_write(&p, path) != GLIMP_OK)
        fail_msg("glimp_testmodel_write: %s", glimp_last_error());
    return path;
}

static struct glimp_backend *open_backend(uint32_t ubatch, uint32_t threads)
{
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_ubatch = ubatch;
    mp.n_threads = threads;
    mp.n_batch = 6; /* passes of several chunks, items split across two */
    struct glimp_backend *b = NULL;
    if (glimp_backend_local_open(model_path(), &mp, &b) != GLIMP_OK)
        fail_msg("glimp_backend_local_open: %s", glimp_last_error());
    return b;
}

/* What one sequence's script produced: its tokens and its last logits. */
struct run {
    struct glimp_backend *b;
    int index;
    int32_t gen[2 * GEN];
    uint32_t n_gen;
    float *logits;      /* the next-token logits at the end */
    float *score_rows;  /* the verification block's rows */
    uint32_t len;
    int rc;
    char err[512];
    pthread_barrier_t *start; /* in parallel: all generate from the same moment */
};

/* A token loop that takes its time between tokens, as a server's does
 * (streaming), so that the others' appends find a pass to join whatever
 * the machine's load. */
static bool slow_token(void *user, int32_t id, const char *piece, size_t len)
{
    (void)user, (void)id, (void)piece, (void)len;
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    return true;
}

static int gen_some(struct bk_seq *s, uint32_t n, struct run *r)
{
    struct bk_gen_rule rule = {.max_tokens = n, .on_token = r->start ? slow_token : NULL};
    struct bk_gen_out out = {.ids = r->gen + r->n_gen};
    int rc = s->b->ops->generate(s, &rule, &out);
    r->n_gen += out.n;
    free(out.text);
    return rc;
}

/* Sequence i: a prompt of 3 + 11 i tokens, GEN/2 generated, a block of 3
 * scored (all logits), a rollback of 2, one token, GEN/2 generated. */
static int script(struct run *r)
{
    struct glimp_backend *b = r->b;
    struct glimp_sampler_params sp = glimp_sampler_default_params();
    sp.temperature = 0;
    struct bk_seq *s = NULL;
    int rc = b->ops->seq_init(b, 256, &sp, &s);
    uint32_t np = 3 + 11 * (uint32_t)r->index;
    int32_t prompt[96], block[3] = {5, 9, 1 + r->index};
    for (uint32_t j = 0; j < np; j++)
        prompt[j] = (int32_t)((j * 7 + (uint32_t)r->index * 13 + 1) % b->n_vocab);
    if (rc == GLIMP_OK)
        rc = b->ops->append(s, prompt, np);
    if (r->start)
        pthread_barrier_wait(r->start);
    if (rc == GLIMP_OK)
        rc = gen_some(s, GEN / 2, r);
    const float *rows = NULL;
    if (rc == GLIMP_OK)
        rc = b->ops->score(s, block, 3, &rows);
    if (rc == GLIMP_OK) {
        r->score_rows = malloc(3 * (size_t)b->n_logits * sizeof(float));
        memcpy(r->score_rows, rows, 3 * (size_t)b->n_logits * sizeof(float));
        rc = b->ops->truncate(s, b->ops->seq_len(s) - 2);
    }
    if (rc == GLIMP_OK)
        rc = b->ops->append(s, &block[2], 1);
    if (rc == GLIMP_OK)
        rc = gen_some(s, GEN / 2, r);
    struct bk_dist d;
    if (rc == GLIMP_OK)
        rc = b->ops->next(s, 0, &d);
    if (rc == GLIMP_OK) {
        r->logits = malloc((size_t)b->n_logits * sizeof(float));
        memcpy(r->logits, d.logits, (size_t)b->n_logits * sizeof(float));
        r->len = b->ops->seq_len(s);
    }
    if (rc != GLIMP_OK)
        snprintf(r->err, sizeof r->err, "%s", glimp_last_error());
    b->ops->seq_free(s);
    r->rc = rc;
    return rc;
}

static void *script_thread(void *arg)
{
    script(arg);
    return NULL;
}

static void run_free(struct run *r)
{
    free(r->logits);
    free(r->score_rows);
}

/* n sequences run alone (the reference), and par made ready to run the
 * same scripts at once. */
static void prepare_runs(struct glimp_backend *b, struct run *alone, struct run *par, int n)
{
    memset(alone, 0, (size_t)n * sizeof *alone);
    memset(par, 0, (size_t)n * sizeof *par);
    for (int i = 0; i < n; i++) {
        alone[i].b = par[i].b = b;
        alone[i].index = par[i].index = i;
        if (script(&alone[i]) != GLIMP_OK)
            fail_msg("sequence %d alone: %s", i, alone[i].err);
    }
}

static void runs_free(struct run *alone, struct run *par, int n)
{
    for (int i = 0; i < n; i++) {
        run_free(&alone[i]);
        run_free(&par[i]);
    }
}

static void check_same(const struct run *alone, const struct run *par, uint32_t n_logits)
{
    assert_int_equal(par->rc, GLIMP_OK);
    assert_int_equal(par->n_gen, alone->n_gen);
    assert_memory_equal(par->gen, alone->gen, alone->n_gen * sizeof(int32_t));
    assert_int_equal(par->len, alone->len);
    assert_memory_equal(par->logits, alone->logits, n_logits * sizeof(float));
    assert_memory_equal(par->score_rows, alone->score_rows, 3 * n_logits * sizeof(float));
}

/* Eight sequences at once against each alone, for a budget that cuts every
 * long prompt (ubatch 4) and one that cuts none, on 1 and 2 threads. */
static void test_concurrent_equals_alone(void **state)
{
    (void)state;
    const uint32_t ubatches[] = {4, 0};
    const uint32_t threads[] = {1, 2};
    for (int u = 0; u < 2; u++) {
        struct glimp_backend *b = open_backend(ubatches[u], threads[u]);
        struct run alone[N_THREADS], par[N_THREADS];
        prepare_runs(b, alone, par, N_THREADS);
        struct bk_batch_stats before, after;
        b->ops->batch_stats(b, &before);
        pthread_t th[N_THREADS];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, N_THREADS);
        for (int i = 0; i < N_THREADS; i++) {
            par[i].start = &start;
            assert_int_equal(pthread_create(&th[i], NULL, script_thread, &par[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        b->ops->batch_stats(b, &after);
        for (int i = 0; i < N_THREADS; i++) {
            if (par[i].rc != GLIMP_OK)
                fail_msg("sequence %d in parallel: %s", i, par[i].err);
            check_same(&alone[i], &par[i], b->n_logits);
        }
        uint64_t passes = after.passes - before.passes, items = after.items - before.items;
        printf("    ubatch %u: %llu items in %llu passes (%.2f a pass), %llu prompts cut\n",
               ubatches[u], (unsigned long long)items, (unsigned long long)passes,
               (double)items / (double)passes, (unsigned long long)(after.chunked - before.chunked));
        /* alone, every append is a pass of one item */
        assert_true(items > passes);
        if (ubatches[u] == 4) {
            assert_true(after.chunked > before.chunked);
            /* the prompts share the budget of a pass, they do not each get it */
            assert_true(after.most_prompt == 4);
        }
        else
            assert_true(after.chunked == before.chunked);
        runs_free(alone, par, N_THREADS);
        glimp_backend_free(b);
    }
}

/* A refusal among sequences decoding at once: the one at fault gets the
 * error an append alone gives and its sequence is as it was; the others
 * finish as they would alone. */
struct bad {
    struct glimp_backend *b;
    int kind; /* 0: a token id outside the vocabulary in a long prompt; 1: too long */
    int rc;
    uint32_t len_before, len_after;
    char err[512];
};

static void *bad_thread(void *arg)
{
    struct bad *x = arg;
    struct glimp_backend *b = x->b;
    struct glimp_sampler_params sp = glimp_sampler_default_params();
    struct bk_seq *s = NULL;
    if (b->ops->seq_init(b, 64, &sp, &s) != GLIMP_OK)
        return NULL;
    int32_t ids[100];
    for (int j = 0; j < 100; j++)
        ids[j] = j % 50;
    b->ops->append(s, ids, 10);
    x->len_before = b->ops->seq_len(s);
    if (x->kind == 0) {
        ids[37] = (int32_t)b->n_vocab + 3;
        x->rc = b->ops->append(s, ids, 40);
    } else {
        x->rc = b->ops->append(s, ids, 60); /* 70 > 64 */
    }
    snprintf(x->err, sizeof x->err, "%s", glimp_last_error());
    x->len_after = b->ops->seq_len(s);
    b->ops->seq_free(s);
    return NULL;
}

static void test_refusal_stays_with_its_caller(void **state)
{
    (void)state;
    struct glimp_backend *b = open_backend(4, 2);
    struct run alone[4], par[4];
    prepare_runs(b, alone, par, 4);
    struct bad bad[2] = {{.b = b, .kind = 0}, {.b = b, .kind = 1}};
    pthread_t th[6];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, script_thread, &par[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[4 + i], NULL, bad_thread, &bad[i]), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        check_same(&alone[i], &par[i], b->n_logits);
    assert_int_equal(bad[0].rc, GLIMP_ERR_RANGE);
    assert_non_null(strstr(bad[0].err, "at index 37 is outside the vocabulary"));
    assert_int_equal(bad[1].rc, GLIMP_ERR_RANGE);
    assert_non_null(strstr(bad[1].err, "sequence would hold 70 tokens, context is 64"));
    for (int i = 0; i < 2; i++)
        assert_int_equal(bad[i].len_after, bad[i].len_before);
    runs_free(alone, par, 4);
    glimp_backend_free(b);
}

/* A generating thread that is cancelled leaves its loop at once, and the
 * passes stop waiting for it: the others still finish as alone. */
struct cancelled {
    struct glimp_backend *b;
    atomic_int cancel;
    uint32_t n;
    bool was_cancelled;
};

static bool cancel_after_3(void *user, int32_t id, const char *piece, size_t len)
{
    (void)id, (void)piece, (void)len;
    struct cancelled *c = user;
    if (++c->n == 3)
        atomic_store(&c->cancel, 1);
    return true;
}

static void *cancel_thread(void *arg)
{
    struct cancelled *c = arg;
    struct glimp_backend *b = c->b;
    struct glimp_sampler_params sp = glimp_sampler_default_params();
    sp.temperature = 0;
    struct bk_seq *s = NULL;
    if (b->ops->seq_init(b, 256, &sp, &s) != GLIMP_OK)
        return NULL;
    int32_t p[4] = {1, 2, 3, 4};
    int32_t ids[64];
    if (b->ops->append(s, p, 4) == GLIMP_OK) {
        struct bk_gen_rule rule = {
            .max_tokens = 64, .cancel = &c->cancel, .on_token = cancel_after_3, .user = c};
        struct bk_gen_out out = {.ids = ids};
        b->ops->generate(s, &rule, &out);
        c->was_cancelled = out.cancelled;
        free(out.text);
    }
    b->ops->seq_free(s);
    return NULL;
}

static void test_cancelled_leaves(void **state)
{
    (void)state;
    struct glimp_backend *b = open_backend(0, 2);
    struct run alone[3], par[3];
    prepare_runs(b, alone, par, 3);
    struct cancelled c = {.b = b};
    atomic_init(&c.cancel, 0);
    pthread_t th[4];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, script_thread, &par[i]), 0);
    assert_int_equal(pthread_create(&th[3], NULL, cancel_thread, &c), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(c.was_cancelled);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 3; i++)
        check_same(&alone[i], &par[i], b->n_logits);
    runs_free(alone, par, 3);
    glimp_backend_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_equals_alone),
        cmocka_unit_test(test_refusal_stays_with_its_caller),
        cmocka_unit_test(test_cancelled_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
