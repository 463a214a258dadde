/* http.c - the HTTP side over libmicrohttpd (a thread per connection):
 * bodies read up to --max-body, the API key, routing of paths to endpoints,
 * the wait for a generation job and the shipping of its bytes (SSE through
 * a callback response), a client that goes away cancelling its job, one log
 * line per request, and the server's life from loading to a graceful stop
 * on SIGTERM/SIGINT. */
#define _GNU_SOURCE /* POLLRDHUP: the peer closed its side */
#include "server/internal.h"

#include <microhttpd.h>

#include "server/web.h"
#if defined(__GLIBC__)
#include <malloc.h> /* mallopt */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How often a waiting HTTP thread looks at its client and the clock. */
#define POLL_MS 20

/* One HTTP request's state across the access handler's calls. */
struct conn {
    char *body;
    size_t len, cap;
    bool too_big;
    double t0;
    int status;
    struct srv_job *job; /* a generation request's job (one reference) */
    char method[8];
    char path[96];
};

/* ------------------------------------------------------------ helpers */

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

/* The client closed its side or the connection broke. */
static bool client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return true;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    char byte;
    ssize_t n = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0;
}

/* A job ends early: its client left, its time ran out, or the server stops
 * (after the grace). */
static void watch(struct srv_job *j, struct MHD_Connection *c)
{
    const struct server_opts *o = j->srv->o;
    if (atomic_load(&j->cancel))
        return;
    if (o->timeout_s > 0 && glimp_now() - j->t_arrive > o->timeout_s)
        srv_job_cancel(j, SRV_CANCEL_TIMEOUT);
    else if (client_gone(c))
        srv_job_cancel(j, SRV_CANCEL_CLIENT);
}

static enum MHD_Result send_bytes(struct MHD_Connection *c, struct conn *st, int status,
                                  const char *type, const char *body, size_t len,
                                  const char *retry_after, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    st->status = status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct conn *st,
                                  struct srv_reply *r)
{
    enum MHD_Result ok;
    if (!r->body)
        ok = send_bytes(c, st, 500, "application/json",
                        "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                        "\"param\":null,\"code\":500}}",
                        83, NULL, NULL);
    else
        ok = send_bytes(c, st, r->status, r->content_type, r->body, r->len, r->retry_after, NULL);
    free(r->body);
    r->body = NULL;
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct conn *st, int status,
                                  const char *type, const char *allow, const char *msg,
                                  const char *arg)
{
    struct srv_error err = {0};
    err.type = type;
    srv_fail(&err, status, NULL, "%s%s", msg, arg);
    struct srv_reply r = {0};
    srv_reply_error(&r, &err);
    if (status == 503)
        r.retry_after = "1";
    if (allow && r.body) {
        enum MHD_Result ok =
            send_bytes(c, st, r.status, r.content_type, r.body, r.len, NULL, allow);
        free(r.body);
        return ok;
    }
    return send_reply(c, st, &r);
}

/* Compare without an early exit, so the time taken says nothing of the key. */
static bool key_ok(const char *got, const char *want)
{
    size_t gn = strlen(got), wn = strlen(want);
    unsigned char d = (unsigned char)(gn != wn);
    for (size_t i = 0; i < wn; i++)
        d |= (unsigned char)(want[i] ^ (i < gn ? got[i] : 0));
    return d == 0;
}

static bool authorised(struct srv_server *s, struct MHD_Connection *c)
{
    if (!s->o->api_key)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    return key_ok(h + 7, s->o->api_key);
}

/* ------------------------------------------------------------ streaming */

struct stream {
    struct srv_job *job;
    struct MHD_Connection *conn;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream *st = cls;
    struct srv_job *j = st->job;
    pthread_mutex_lock(&j->mu);
    while (j->out_sent == j->out_len && !j->done) {
        timed_wait(&j->cv, &j->mu, POLL_MS);
        if (j->out_sent == j->out_len && !j->done) {
            pthread_mutex_unlock(&j->mu);
            watch(j, st->conn);
            pthread_mutex_lock(&j->mu);
        }
    }
    size_t n = j->out_len - j->out_sent;
    if (n == 0) {
        pthread_mutex_unlock(&j->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    n = n < max ? n : max;
    memcpy(buf, j->out + j->out_sent, n);
    j->out_sent += n;
    pthread_mutex_unlock(&j->mu);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    /* a stream that did not reach its end: the client is gone */
    srv_job_cancel(st->job, SRV_CANCEL_CLIENT);
    srv_job_unref(st->job);
    free(st);
}

/* ------------------------------------------------------------ generation */

static enum MHD_Result run_job(struct srv_server *s, struct MHD_Connection *c, struct conn *st,
                               enum srv_kind kind)
{
    struct srv_reply r = {0};
    if (atomic_load(&s->stopping))
        return send_error(c, st, 503, "unavailable_error", NULL, "the server is stopping", "");
    struct srv_job *j = srv_api_job(s, kind, st->body ? st->body : "", st->len, &r);
    if (!j)
        return send_reply(c, st, &r);
    st->job = j;
    if (!srv_slots_submit(s, j)) {
        pthread_mutex_lock(&s->metrics.mu);
        s->metrics.rejected++;
        pthread_mutex_unlock(&s->metrics.mu);
        return send_error(c, st, 503, "unavailable_error", NULL,
                          "every slot is busy and the queue is full; retry later", "");
    }
    /* wait for the worker to start it (or fail), watching the client */
    pthread_mutex_lock(&j->mu);
    while (!j->started && !j->done) {
        timed_wait(&j->cv, &j->mu, POLL_MS);
        pthread_mutex_unlock(&j->mu);
        watch(j, c);
        pthread_mutex_lock(&j->mu);
    }
    bool stream = j->req.stream && j->status == 200 && !j->error_body;
    while (!stream && !j->done) {
        timed_wait(&j->cv, &j->mu, POLL_MS);
        pthread_mutex_unlock(&j->mu);
        watch(j, c);
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    if (j->error_body) {
        r = (struct srv_reply){.status = j->status, .content_type = "application/json",
                               .body = strdup(j->error_body)};
        r.len = r.body ? strlen(r.body) : 0;
        return send_reply(c, st, &r);
    }
    if (!stream)
        return send_bytes(c, st, j->status, "application/json", j->out ? j->out : "",
                          j->out_len, NULL, NULL);
    struct stream *ss = malloc(sizeof *ss);
    if (!ss)
        return MHD_NO;
    ss->job = j;
    ss->conn = c;
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, ss, stream_free);
    if (!resp) {
        stream_free(ss);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    st->status = 200;
    enum MHD_Result ok = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* ------------------------------------------------------------ dispatch */

static bool is(const char *path, const char *a, const char *b)
{
    return !strcmp(path, a) || (b && !strcmp(path, b));
}

static enum MHD_Result dispatch(struct srv_server *s, struct MHD_Connection *c, struct conn *st,
                                const char *method, const char *url)
{
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    struct srv_reply r = {0};
    const char *allow = NULL;
    if (is(url, "/health", "/v1/health")) {
        if (get) {
            srv_api_health(s, &r);
            return send_reply(c, st, &r);
        }
        allow = "GET";
    } else if (!authorised(s, c) &&
               (is(url, "/v1/models", "/models") || is(url, "/props", "/metrics") ||
                is(url, "/tokenize", "/detokenize") ||
                is(url, "/v1/chat/completions", "/chat/completions") ||
                is(url, "/v1/completions", "/completions"))) {
        return send_error(c, st, 401, "authentication_error", NULL,
                          "invalid or missing API key (Authorization: Bearer KEY)", "");
    } else if (is(url, "/v1/models", "/models")) {
        if (get) {
            srv_api_models(s, &r);
            return send_reply(c, st, &r);
        }
        allow = "GET";
    } else if (is(url, "/props", NULL)) {
        if (get) {
            srv_api_props(s, &r);
            return send_reply(c, st, &r);
        }
        allow = "GET";
    } else if (is(url, "/metrics", NULL)) {
        if (get) {
            srv_api_metrics(s, &r);
            return send_reply(c, st, &r);
        }
        allow = "GET";
    } else if (is(url, "/tokenize", NULL) || is(url, "/detokenize", NULL)) {
        if (post) {
            if (url[1] == 't')
                srv_api_tokenize(s, st->body ? st->body : "", st->len, &r);
            else
                srv_api_detokenize(s, st->body ? st->body : "", st->len, &r);
            return send_reply(c, st, &r);
        }
        allow = "POST";
    } else if (is(url, "/v1/chat/completions", "/chat/completions")) {
        if (post)
            return run_job(s, c, st, SRV_CHAT);
        allow = "POST";
    } else if (is(url, "/v1/completions", "/completions")) {
        if (post)
            return run_job(s, c, st, SRV_COMPLETION);
        allow = "POST";
    } else if (srv_web_find(url)) { /* the web view (web.c): no key, it holds no data */
        if (get)
            return srv_web_respond(c, srv_web_find(url), &st->status);
        allow = "GET";
    } else {
        return send_error(c, st, 404, "not_found_error", NULL, "no such endpoint: ", url);
    }
    return send_error(c, st, 405, "invalid_request_error", allow, "this endpoint does not take ", method);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct srv_server *s = cls;
    struct conn *st = *con_cls;
    if (!st) {
        if (!(st = calloc(1, sizeof *st)))
            return MHD_NO;
        st->t0 = glimp_now();
        snprintf(st->method, sizeof st->method, "%s", method);
        snprintf(st->path, sizeof st->path, "%s", url);
        *con_cls = st;
        /* framing libmicrohttpd lets through: HTTP/1.1 without Host (RFC
         * 9112 3.2: 400), and a transfer coding other than chunked, whose
         * body has no length it could read to (RFC 9112 6.3: 400; it would
         * wait for the idle timeout) */
        if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
            !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
            return send_error(c, st, 400, "invalid_request_error", NULL,
                              "an HTTP/1.1 request needs a Host header", "");
        const char *te =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        if (te && strcasecmp(te, "chunked") != 0)
            return send_error(c, st, 400, "invalid_request_error", NULL,
                              "unsupported Transfer-Encoding (only chunked): ", te);
        /* a declared body over the cap is refused before it is read */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || *end || n > s->o->max_body) {
                st->too_big = true;
                return send_error(c, st, 413, "invalid_request_error", NULL,
                                  "the body is larger than the limit (--max-body)", "");
            }
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (st->too_big)
            return MHD_YES;
        if (st->len + n > s->o->max_body) {
            st->too_big = true;
            free(st->body);
            st->body = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (st->len + n + 1 > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < st->len + n + 1)
                cap *= 2;
            char *p = realloc(st->body, cap);
            if (!p)
                return MHD_NO;
            st->body = p;
            st->cap = cap;
        }
        memcpy(st->body + st->len, upload_data, n);
        st->len += n;
        st->body[st->len] = '\0';
        return MHD_YES;
    }
    if (st->status) /* answered already (on the headers: 400, 413) */
        return MHD_YES;
    if (st->too_big)
        return send_error(c, st, 413, "invalid_request_error", NULL,
                          "the body is larger than the limit (--max-body)", "");
    return dispatch(s, c, st, method, url);
}

static void log_request(struct srv_server *s, const struct conn *st, bool broken)
{
    double ms = (glimp_now() - st->t0) * 1e3;
    const struct srv_job *j = st->job;
    unsigned long long pt = j ? j->prompt_tokens : 0, ct = j ? j->completion_tokens : 0;
    time_t now = time(NULL);
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&s->log_mu);
    if (s->o->log_json) {
        json_t *l = json_pack("{s:s,s:s,s:o,s:i,s:I,s:I,s:f,s:b}", "time", ts, "method",
                              st->method, "path", jtext_new(st->path, strlen(st->path)),
                              "status", st->status, "prompt_tokens", (json_int_t)pt,
                              "completion_tokens", (json_int_t)ct, "latency_ms", ms, "aborted",
                              broken);
        if (j && j->id[0])
            json_object_set_new(l, "id", json_string(j->id));
        char *line = srv_dump(l);
        if (line)
            fprintf(stderr, "%s\n", line);
        free(line);
    } else {
        char path[sizeof st->path];
        size_t k = 0;
        for (size_t i = 0; st->path[i] && k + 1 < sizeof path; i++)
            path[k++] = st->path[i] >= 0x20 && st->path[i] < 0x7f ? st->path[i] : '?';
        path[k] = '\0';
        fprintf(stderr, "%s %s %s %d prompt=%llu completion=%llu %.1fms%s\n", ts, st->method,
                path, st->status, pt, ct, ms, broken ? " aborted" : "");
    }
    fflush(stderr);
    pthread_mutex_unlock(&s->log_mu);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    struct srv_server *s = cls;
    struct conn *st = *con_cls;
    if (!st)
        return;
    bool broken = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
    if (st->job && broken)
        srv_job_cancel(st->job, SRV_CANCEL_CLIENT);
    if (st->status) {
        pthread_mutex_lock(&s->metrics.mu);
        s->metrics.http[st->status / 100 % 6]++;
        pthread_mutex_unlock(&s->metrics.mu);
        log_request(s, st, broken);
    }
    srv_job_unref(st->job);
    free(st->body);
    free(st);
    *con_cls = NULL;
}

/* ------------------------------------------------------------ the server */

static int open_model(struct srv_server *s, int i, const char *path, const char *id)
{
    struct srv_model *m = &s->m[i];
    struct glimp_model_params mp = glimp_model_default_params();
    mp.n_threads = s->o->n_threads;
    mp.n_ubatch = s->o->n_ubatch;
    m->path = path;
    /* a model behind another server (routed mode): its tokenizer and
     * template come from the vocabulary file the remote backend checked;
     * in text mode it has none here (the server renders and tokenizes) */
    const char *file = glimp_is_url(path) ? s->o->remote[i].vocab : path;
    int rc = glimp_backend_open(path, &mp, &s->o->remote[i], &m->b);
    bool text = rc == GLIMP_OK && !(m->b->caps & BK_CAP_EXACT_IDS);
    if (rc == GLIMP_OK && !text)
        rc = glimp_gguf_open(file, &m->gguf);
    if (rc == GLIMP_OK && !text)
        rc = glimp_tokenizer_load(m->gguf, NULL, &m->tok);
    if (rc == GLIMP_OK && !text)
        rc = glimp_chat_detect(m->gguf, &m->tmpl);
    struct bk_seq *seq = NULL;
    if (rc == GLIMP_OK) {
        struct glimp_sampler_params sp = glimp_sampler_default_params();
        rc = m->b->ops->seq_init(m->b, s->o->defaults.n_ctx, &sp, &seq);
    }
    if (rc != GLIMP_OK) {
        fprintf(stderr, "glimp serve: %s\n", glimp_last_error());
        return 1;
    }
    m->n_ctx = m->b->ops->seq_n_ctx(seq);
    m->b->ops->seq_free(seq);
    /* only sequences that roll back in this process can be reused */
    int64_t keep = s->o->prompt_cache < 0 ? s->o->n_parallel : s->o->prompt_cache;
    srv_cache_init(&m->cache, m->b->caps & BK_CAP_ROLLBACK && m->b->ops->reseed ? (uint32_t)keep : 0);
    if (id) {
        snprintf(m->id, sizeof m->id, "%s", id);
    } else {
        const char *slash = strrchr(path, '/');
        snprintf(m->id, sizeof m->id, "%s", slash ? slash + 1 : path);
        size_t n = strlen(m->id);
        if (n > 5 && !strcmp(m->id + n - 5, ".gguf"))
            m->id[n - 5] = '\0';
    }
    const char *w = glimp_backend_warning(m->b);
    if (w[0])
        fprintf(stderr, "glimp serve: warning: %s: %s\n", m->id, w);
    fprintf(stderr, "glimp serve: %s: %s, context %u, chat template %s\n", m->id,
            glimp_backend_describe(m->b), m->n_ctx, srv_template_name(m));
    return 0;
}

/* A profile tuned on another pair still serves, with a warning. */
static void warn_profiles(const struct srv_server *s)
{
    const struct server_opts *o = s->o;
    char why[1024];
    if (o->profile_path &&
        !glimp_profile_check_pair(&o->profile_info, s->m[0].b, s->m[1].b, why, sizeof why))
        fprintf(stderr, "glimp serve: warning: profile %s: %s\n", o->profile_path, why);
    for (size_t i = 0; i < o->n_profiles; i++) {
        const struct srv_profile *pr = &o->profiles[i];
        if (!glimp_profile_check_pair(&pr->info, s->m[0].b, s->m[1].b, why, sizeof why))
            fprintf(stderr, "glimp serve: warning: profile %s (%s): %s\n", pr->name, pr->path,
                    why);
        fprintf(stderr, "glimp serve: model glimp:%s routes with profile %s\n", pr->name,
                pr->path);
    }
}

static void close_models(struct srv_server *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->m[i].b)
            srv_cache_free(&s->m[i].cache);
        glimp_backend_free(s->m[i].b);
        glimp_tokenizer_free(s->m[i].tok);
        glimp_gguf_close(s->m[i].gguf);
    }
}

int server_run(const struct server_opts *o)
{
    struct srv_server s = {.o = o, .routed = o->slm != NULL};
    atomic_init(&s.loading, 1);
    atomic_init(&s.stopping, 0);
    srv_metrics_init(&s.metrics);
    pthread_mutex_init(&s.log_mu, NULL);
    signal(SIGPIPE, SIG_IGN);
#if defined(__GLIBC__)
    /* glibc raises its mmap threshold to the size of each large block freed
     * (up to 32 MB), after which request bodies of up to --max-body come
     * from the per-thread arenas and stay resident there: a burst of large
     * bodies over many connection threads left the server tens of MB larger
     * for good (tests/cli_serve_abuse.sh). Held at glibc's own default,
     * large blocks are mapped and go back to the system when freed. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif

    /* every thread started from here leaves SIGTERM and SIGINT to sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1) {
        fprintf(stderr, "glimp serve: --host %s: not an IPv4 address\n", o->host);
        return 1;
    }
    int status = 0;
    if (srv_slots_start(&s) != 0) {
        fprintf(stderr, "glimp serve: cannot start %u slots\n", o->n_parallel);
        srv_slots_stop(&s);
        return 1;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)1024, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "glimp serve: cannot listen on %s:%u: %s\n", o->host, o->port,
                strerror(errno));
        srv_slots_stop(&s);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : o->port;
    fprintf(stderr, "glimp serve: listening on http://%s:%u\n", o->host, port);
    fflush(stderr);

    /* load while /health says 503 */
    if (s.routed)
        status = open_model(&s, 0, o->slm, "slm") || open_model(&s, 1, o->llm, "llm");
    else
        status = open_model(&s, 0, o->model, NULL);
    if (status == 0 && s.routed) {
        bool shared;
        if (glimp_router_check_vocab(s.m[0].b, s.m[1].b, &shared) != GLIMP_OK) {
            fprintf(stderr, "glimp serve: %s\n", glimp_last_error());
            status = 1;
        } else if (!shared) {
            fprintf(stderr, "glimp serve: note: the models' vocabularies differ: steps pass as "
                            "text\n");
        }
        warn_profiles(&s);
    }
    if (status == 0) {
        atomic_store(&s.loading, 0);
        fprintf(stderr, "glimp serve: ready (%s mode, %u slots, queue %u)\n",
                s.routed ? "routed" : "single-model", o->n_parallel, o->queue);
        fflush(stderr);
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "glimp serve: %s: finishing running requests (grace %.0f s)\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", o->grace_s);
        fflush(stderr);
    }

    /* stop accepting; let running requests finish within the grace */
    atomic_store(&s.stopping, 1);
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    double t_end = glimp_now() + o->grace_s;
    for (;;) {
        uint32_t running, waiting;
        srv_slots_counts(&s, &running, &waiting);
        if (running + waiting == 0 || glimp_now() >= t_end)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 20000000L}, NULL);
    }
    srv_slots_cancel_all(&s);
    MHD_stop_daemon(d);
    srv_slots_stop(&s);
    close_models(&s);
    srv_metrics_free(&s.metrics);
    pthread_mutex_destroy(&s.log_mu);
    fprintf(stderr, "glimp serve: stopped\n");
    return status;
}
