/* slots.c - requests served at once: -np worker threads (the slots), each
 * running one job at a time, fed from a bounded FIFO (--queue); a request
 * that finds the queue full is refused (503 with Retry-After). Also a job's
 * life: its references and the output it hands from worker to HTTP side. */
#include "server/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct srv_job *srv_job_new(struct srv_server *s)
{
    struct srv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->srv = s;
    j->status = 200;
    atomic_init(&j->cancel, 0);
    return j;
}

void srv_job_unref(struct srv_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    srv_req_free(&j->req);
    free(j->prompt);
    free(j->msgs);
    glimp_tokens_free(&j->ids);
    free(j->out);
    free(j->error_body);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void srv_job_cancel(struct srv_job *j, int reason)
{
    int none = 0;
    atomic_compare_exchange_strong(&j->cancel, &none, reason);
}

/* Under j->mu. The output has no cap of its own: it is bounded by the
 * request's tokens, which max_tokens and the router's budgets cap, and it
 * drains as the client reads. */
void srv_job_write(struct srv_job *j, const char *s, size_t n)
{
    if (j->out_len + n + 1 > j->out_cap) {
        size_t cap = j->out_cap ? j->out_cap : 4096;
        while (cap < j->out_len + n + 1)
            cap *= 2;
        char *p = realloc(j->out, cap);
        if (!p) {
            srv_job_cancel(j, SRV_CANCEL_NOMEM); /* nothing sensible to send: end it */
            return;
        }
        j->out = p;
        j->out_cap = cap;
    }
    memcpy(j->out + j->out_len, s, n);
    j->out_len += n;
    j->out[j->out_len] = '\0';
    pthread_cond_broadcast(&j->cv);
}

static void *worker_main(void *arg)
{
    struct srv_server *s = ((void **)arg)[0];
    uint32_t slot = (uint32_t)(uintptr_t)((void **)arg)[1];
    free(arg);
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (s->q_len == 0 && !s->quit)
            pthread_cond_wait(&s->qcv, &s->qmu);
        if (s->q_len == 0) {
            pthread_mutex_unlock(&s->qmu);
            return NULL;
        }
        struct srv_job *j = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_len--;
        s->running++;
        s->active[slot] = j;
        pthread_mutex_unlock(&s->qmu);

        srv_generate(j);

        pthread_mutex_lock(&s->qmu);
        s->active[slot] = NULL;
        s->running--;
        pthread_mutex_unlock(&s->qmu);
        srv_job_unref(j);
    }
}

int srv_slots_start(struct srv_server *s)
{
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    s->q_cap = (size_t)s->o->queue + s->o->n_parallel;
    s->queue = calloc(s->q_cap, sizeof *s->queue);
    s->workers = calloc(s->o->n_parallel, sizeof *s->workers);
    s->active = calloc(s->o->n_parallel, sizeof *s->active);
    if (!s->queue || !s->workers || !s->active)
        return -1;
    for (uint32_t i = 0; i < s->o->n_parallel; i++) {
        void **arg = malloc(2 * sizeof *arg);
        if (!arg)
            return -1;
        arg[0] = s;
        arg[1] = (void *)(uintptr_t)i;
        if (pthread_create(&s->workers[i], NULL, worker_main, arg) != 0) {
            free(arg);
            return -1;
        }
        s->n_workers++;
    }
    return 0;
}

bool srv_slots_submit(struct srv_server *s, struct srv_job *j)
{
    pthread_mutex_lock(&s->qmu);
    /* a free slot takes it at once; else it waits, if there is room */
    size_t idle = s->n_workers - s->running;
    bool ok = !s->quit && s->q_len < (size_t)s->o->queue + idle;
    if (ok) {
        pthread_mutex_lock(&j->mu);
        j->refs++;
        pthread_mutex_unlock(&j->mu);
        s->queue[(s->q_head + s->q_len) % s->q_cap] = j;
        s->q_len++;
        pthread_cond_signal(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    return ok;
}

void srv_slots_counts(struct srv_server *s, uint32_t *running, uint32_t *waiting)
{
    pthread_mutex_lock(&s->qmu);
    *running = s->running;
    *waiting = (uint32_t)s->q_len;
    pthread_mutex_unlock(&s->qmu);
}

void srv_slots_cancel_all(struct srv_server *s)
{
    pthread_mutex_lock(&s->qmu);
    for (size_t i = 0; i < s->q_len; i++)
        srv_job_cancel(s->queue[(s->q_head + i) % s->q_cap], SRV_CANCEL_SHUTDOWN);
    for (uint32_t i = 0; i < s->n_workers; i++)
        if (s->active[i])
            srv_job_cancel(s->active[i], SRV_CANCEL_SHUTDOWN);
    pthread_mutex_unlock(&s->qmu);
}

void srv_slots_stop(struct srv_server *s)
{
    pthread_mutex_lock(&s->qmu);
    s->quit = true;
    pthread_cond_broadcast(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    for (uint32_t i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->queue);
    free(s->workers);
    free(s->active);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
}
