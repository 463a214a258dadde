/* remote_prefill.c - the eager-sync worker (see remote_prefill.h): a queue
 * of the newest tokens per sequence, one thread that sends them, and the
 * wait of a sequence's own request for its prefill in flight. */
#include "backend/remote_prefill.h"

#include "backend/remote_http.h"
#include "core/error.h"
#include "glimp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rpf_job {
    const void *owner;
    char *url;  /* where it goes */
    char *body; /* what it says */
    struct rpf_job *next;
};

struct rpf {
    char *api_key;
    double connect_timeout_s, timeout_s;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a post came, a prefill ended, or quit */
    pthread_t thread;
    bool started;
    atomic_bool quit; /* also read by the worker's transfer */
    struct rpf_job *head; /* queued, oldest first; one per owner at most */
    const void *busy;     /* whose prefill is in flight */
    struct rpf_stats st;
};

int rpf_init(const char *api_key, double connect_timeout_s, double timeout_s, struct rpf **out)
{
    *out = NULL;
    struct rpf *w = calloc(1, sizeof *w);
    if (!w)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->quit, false);
    w->api_key = api_key ? strdup(api_key) : NULL;
    if (api_key && !w->api_key) {
        rpf_free(w);
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    }
    w->connect_timeout_s = connect_timeout_s;
    w->timeout_s = timeout_s;
    *out = w;
    return GLIMP_OK;
}

static void job_free(struct rpf_job *j)
{
    if (j) {
        free(j->url);
        free(j->body);
        free(j);
    }
}

void rpf_free(struct rpf *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->quit, true);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    while (w->head) {
        struct rpf_job *j = w->head;
        w->head = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    if (w->api_key)
        memset(w->api_key, 0, strlen(w->api_key));
    free(w->api_key);
    free(w);
}

/* One prefill, answered whole or given up at the time-out; true when the
 * server said 200. */
static bool send_one(struct rpf *w, struct rh_conn *c, const struct rpf_job *j)
{
    bool ok = rh_start(c, j->url, j->body, w->api_key) == GLIMP_OK;
    double t0 = glimp_now();
    enum rh_state st = RH_RUNNING;
    while (ok && st == RH_RUNNING) {
        bool got;
        st = rh_pump(c, 0.1, &got);
        if (st == RH_RUNNING && (glimp_now() - t0 > w->timeout_s || atomic_load(&w->quit))) {
            rh_abort(c);
            st = RH_FAILED;
        }
    }
    return ok && st == RH_DONE && rh_status(c) == 200;
}

static void *worker(void *arg)
{
    struct rpf *w = arg;
    struct rh_conn *c = NULL;
    bool have_conn = rh_open(w->connect_timeout_s, &c) == GLIMP_OK;
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->quit)) {
        struct rpf_job *j = w->head;
        if (!j) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        w->head = j->next;
        w->busy = j->owner;
        pthread_mutex_unlock(&w->mu);
        double t0 = glimp_now();
        bool ok = have_conn && send_one(w, c, j);
        pthread_mutex_lock(&w->mu);
        w->st.sent++;
        w->st.failed += !ok;
        w->st.busy_s += glimp_now() - t0;
        w->busy = NULL;
        pthread_cond_broadcast(&w->cv);
        job_free(j);
    }
    pthread_mutex_unlock(&w->mu);
    rh_close(c);
    return NULL;
}

/* Under w->mu: owner's queued job unlinked, or NULL. */
static struct rpf_job *unqueue(struct rpf *w, const void *owner)
{
    for (struct rpf_job **p = &w->head; *p; p = &(*p)->next)
        if ((*p)->owner == owner) {
            struct rpf_job *j = *p;
            *p = j->next;
            j->next = NULL;
            return j;
        }
    return NULL;
}

void rpf_post(struct rpf *w, const void *owner, const char *url, char *body)
{
    struct rpf_job *j = calloc(1, sizeof *j);
    char *u = strdup(url);
    if (!j || !u || !body) { /* a prefill is a hint: without memory, none */
        free(j);
        free(u);
        free(body);
        return;
    }
    *j = (struct rpf_job){.owner = owner, .url = u, .body = body};
    pthread_mutex_lock(&w->mu);
    struct rpf_job *old = unqueue(w, owner);
    if (!w->started && !atomic_load(&w->quit))
        w->started = pthread_create(&w->thread, NULL, worker, w) == 0;
    if (w->started) {
        struct rpf_job **p = &w->head;
        while (*p)
            p = &(*p)->next;
        *p = j;
        j = NULL;
        w->st.posted++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    job_free(old);
    job_free(j);
}

double rpf_settle(struct rpf *w, const void *owner)
{
    double t0 = glimp_now(), waited = 0;
    pthread_mutex_lock(&w->mu);
    struct rpf_job *j = unqueue(w, owner);
    bool waits = w->busy == owner;
    while (w->busy == owner)
        pthread_cond_wait(&w->cv, &w->mu);
    if (waits) {
        waited = glimp_now() - t0;
        w->st.waited_s += waited;
    }
    pthread_mutex_unlock(&w->mu);
    job_free(j);
    return waited;
}

void rpf_stats(struct rpf *w, struct rpf_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}
