/* remote_http.c - one HTTP connection of the remote backend over libcurl's
 * multi interface: requests that the caller pumps with its own time-outs
 * (first byte, between tokens), a body buffer with a cap, Retry-After, and
 * the splitting of server-sent events into data lines. */
#include "backend/remote_http.h"

#include "core/error.h"

#include <curl/curl.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rh_conn {
    CURLM *multi;
    CURL *easy;
    bool active; /* easy is in multi */
    bool done, failed;
    struct curl_slist *hdrs;
    char *req_body;
    long status;
    double retry_after;
    bool got;  /* a byte came since the last pump */
    bool any;  /* a byte came since the start */
    char *buf; /* body bytes; [off, len) not yet taken */
    size_t off, len, cap;
    char errbuf[CURL_ERROR_SIZE];
    char failure[CURL_ERROR_SIZE + 64];
    double connect_timeout_s;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    struct rh_conn *c = user;
    size_t add = size * n;
    c->got = c->any = true;
    if (c->off > 0 && c->off == c->len)
        c->off = c->len = 0;
    if (c->len - c->off + add > RH_MAX_BODY)
        return 0; /* curl then fails the transfer: too big */
    if (c->len + add + 1 > c->cap) {
        if (c->off > 0) { /* make room by dropping what was taken */
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + add + 1)
            cap *= 2;
        if (cap > c->cap) {
            char *b = realloc(c->buf, cap);
            if (!b)
                return 0;
            c->buf = b;
            c->cap = cap;
        }
    }
    memcpy(c->buf + c->len, p, add);
    c->len += add;
    c->buf[c->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    struct rh_conn *c = user;
    size_t len = size * n;
    c->got = c->any = true;
    static const char ra[] = "retry-after:";
    if (len > sizeof ra - 1 && !strncasecmp(p, ra, sizeof ra - 1)) {
        char tmp[32];
        size_t k = len - (sizeof ra - 1);
        k = k < sizeof tmp - 1 ? k : sizeof tmp - 1;
        memcpy(tmp, p + sizeof ra - 1, k);
        tmp[k] = '\0';
        char *end;
        double v = strtod(tmp, &end);
        if (end != tmp && v >= 0 && v < 3600)
            c->retry_after = v;
    }
    return len;
}

int rh_open(double connect_timeout_s, struct rh_conn **out)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return glimp_error(GLIMP_ERR_IO, "remote: libcurl cannot start: %s",
                           curl_easy_strerror(global_rc));
    struct rh_conn *c = calloc(1, sizeof *c);
    if (!c)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (!c->multi || !c->easy) {
        rh_close(c);
        return glimp_error(GLIMP_ERR_NOMEM, "remote: libcurl cannot make a handle");
    }
    c->connect_timeout_s = connect_timeout_s;
    c->retry_after = -1;
    *out = c;
    return GLIMP_OK;
}

void rh_abort(struct rh_conn *c)
{
    if (!c || !c->active)
        return;
    /* forbid reusing a connection that was cut mid-answer */
    if (!c->done)
        curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
    curl_multi_remove_handle(c->multi, c->easy);
    c->active = false;
}

void rh_close(struct rh_conn *c)
{
    if (!c)
        return;
    rh_abort(c);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    curl_slist_free_all(c->hdrs);
    free(c->req_body);
    free(c->buf);
    free(c);
}

bool rh_active(const struct rh_conn *c)
{
    return c && c->active && !c->done && !c->failed;
}

int rh_start(struct rh_conn *c, const char *url, const char *body, const char *api_key)
{
    rh_abort(c);
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    free(c->req_body);
    c->req_body = NULL;
    c->status = 0;
    c->retry_after = -1;
    c->done = c->failed = c->got = c->any = false;
    c->off = c->len = 0;
    c->errbuf[0] = c->failure[0] = '\0';
    if (body && !(c->req_body = strdup(body)))
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    CURL *e = c->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_s * 1000.0 + 0.5));
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && api_key) {
        char auth[1100];
        int n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_key);
        struct curl_slist *h2 =
            n > 0 && (size_t)n < sizeof auth ? curl_slist_append(h, auth) : NULL;
        memset(auth, 0, sizeof auth);
        if (!h2) {
            curl_slist_free_all(h);
            return glimp_error(GLIMP_ERR_INVALID, "remote: the API key is too long");
        }
    }
    if (!h)
        return glimp_error(GLIMP_ERR_NOMEM, "remote: out of memory");
    c->hdrs = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->req_body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->req_body));
    }
    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK)
        return glimp_error(GLIMP_ERR_IO, "remote: libcurl: %s", curl_multi_strerror(mc));
    c->active = true;
    return GLIMP_OK;
}

enum rh_state rh_pump(struct rh_conn *c, double wait_s, bool *got)
{
    *got = false;
    if (!c->active)
        return c->failed ? RH_FAILED : RH_DONE;
    if (c->done || c->failed)
        return c->failed ? RH_FAILED : RH_DONE;
    double t_end = glimp_now() + wait_s;
    c->got = false;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            c->failed = true;
            snprintf(c->failure, sizeof c->failure, "libcurl: %s", curl_multi_strerror(mc));
            break;
        }
        int left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURLcode rc = m->data.result;
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
            if (rc == CURLE_OK) {
                c->done = true;
            } else {
                c->failed = true;
                snprintf(c->failure, sizeof c->failure, "%s",
                         c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
                if (rc == CURLE_WRITE_ERROR)
                    snprintf(c->failure, sizeof c->failure,
                             "the answer passed %u bytes, or memory ran out", RH_MAX_BODY);
            }
        }
        if (c->status == 0)
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
        if (c->done || c->failed || c->got)
            break;
        double left_s = t_end - glimp_now();
        if (left_s <= 0)
            break;
        int ms = (int)(left_s * 1000.0) + 1;
        curl_multi_poll(c->multi, NULL, 0, ms > 100 ? 100 : ms, NULL);
    }
    *got = c->got;
    return c->failed ? RH_FAILED : c->done ? RH_DONE : RH_RUNNING;
}

long rh_status(const struct rh_conn *c)
{
    return c->status;
}

const char *rh_body(const struct rh_conn *c, size_t *len)
{
    *len = c->len - c->off;
    return c->buf ? c->buf + c->off : "";
}

double rh_retry_after(const struct rh_conn *c)
{
    return c->retry_after;
}

const char *rh_failure(const struct rh_conn *c)
{
    return c->failure[0] ? c->failure : "the transfer failed";
}

bool rh_got_bytes(const struct rh_conn *c)
{
    return c->any;
}

bool rh_sse_next(const char *buf, size_t n, size_t *consumed, const char **data, size_t *len)
{
    size_t i = 0;
    *consumed = 0;
    while (i < n) {
        const char *nl = memchr(buf + i, '\n', n - i);
        if (!nl)
            return false;
        size_t end = (size_t)(nl - buf);
        size_t line_end = end > i && buf[end - 1] == '\r' ? end - 1 : end;
        const char *line = buf + i;
        size_t ll = line_end - i;
        i = end + 1;
        *consumed = i;
        if (ll >= 5 && !memcmp(line, "data:", 5)) {
            size_t skip = 5 + (ll > 5 && line[5] == ' ');
            *data = line + skip;
            *len = ll - skip;
            return true;
        }
    }
    return false;
}

bool rh_sse_take(struct rh_conn *c, const char **data, size_t *len)
{
    size_t used;
    bool ok = rh_sse_next(c->buf ? c->buf + c->off : "", c->len - c->off, &used, data, len);
    c->off += used;
    return ok;
}
