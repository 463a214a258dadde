/* remote_call.c - the remote backend's requests: one request answered
 * whole and retried (the start-up checks), and what the streams of
 * remote_stream.c share with it: stats, back-off, failure messages. */
#include "backend/remote_internal.h"

#include "core/error.h"

#include <stdio.h>
#include <time.h>

/* ------------------------------------------------------------ stats */

void remote_stat_add(struct remote_backend *r, uint64_t req, uint64_t retry, uint64_t aborted,
                     double connect_s, double fb_s, double stream_s)
{
    pthread_mutex_lock(&r->mu);
    r->st.requests += req;
    r->st.retries += retry;
    r->st.aborted += aborted;
    r->st.connect_s += connect_s;
    r->st.first_byte_s += fb_s;
    r->st.stream_s += stream_s;
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------ requests */

void remote_sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

bool remote_retryable_status(long st)
{
    return st == 429 || st == 408 || st >= 500;
}

/* How long to wait before retry `attempt` (0-based) of a request that
 * failed: Retry-After when the server said, else backoff doubled. */
double remote_backoff(const struct remote_backend *r, const struct rh_conn *c, uint32_t attempt)
{
    double ra = c ? rh_retry_after(c) : -1;
    if (ra >= 0)
        return ra < 60 ? ra : 60;
    double w = r->p.backoff_s;
    for (uint32_t i = 0; i < attempt && w < 30; i++)
        w *= 2;
    return w;
}

/* Wait for a request's whole answer, with the time-outs; why it failed in
 * why (empty when it did not). */
static enum rh_state wait_whole(struct remote_backend *r, struct rh_conn *c, char *why, size_t cap)
{
    double t0 = glimp_now(), last = t0;
    bool first = true;
    why[0] = '\0';
    for (;;) {
        bool got;
        enum rh_state st = rh_pump(c, 0.25, &got);
        double now = glimp_now();
        if (got) {
            if (first)
                remote_stat_add(r, 0, 0, 0, 0, now - t0, 0);
            first = false;
            last = now;
        }
        if (st == RH_FAILED)
            snprintf(why, cap, "%s", rh_failure(c));
        if (st != RH_RUNNING)
            return st;
        double limit = first ? r->p.first_byte_timeout_s : r->p.token_timeout_s;
        if (now - last > limit) {
            snprintf(why, cap, "no answer for %.1f s (the %s time-out)", now - last,
                     first ? "first-byte" : "between-bytes");
            rh_abort(c);
            return RH_FAILED;
        }
    }
}

/* Why a finished answer with this status failed: "HTTP 503: message" with
 * the server's own message. */
void remote_status_why(const struct rh_conn *c, long status, char *why, size_t cap)
{
    size_t n;
    const char *b = rh_body(c, &n);
    char msg[400];
    rp_error_message(b, n, msg, sizeof msg);
    snprintf(why, cap, "HTTP %ld: %s", status, msg);
}

/* What a final failure adds when retries were allowed and this status
 * would have been retried. */
const char *remote_retries_note(const struct remote_backend *r, long status)
{
    return r->p.retries && !(status >= 400 && !remote_retryable_status(status))
               ? " (retries used up)"
               : "";
}

/* One request answered whole (GET when body is NULL): retried as the
 * params say; on success the body is rh_body(c). what says what it was
 * for, in messages. */
int remote_call(struct remote_backend *r, struct rh_conn *c, const char *url, const char *body,
                const char *what)
{
    char why[600] = "";
    long status = 0;
    for (uint32_t attempt = 0;; attempt++) {
        if (attempt > 0) {
            remote_stat_add(r, 0, 1, 0, 0, 0, 0);
            remote_sleep_s(remote_backoff(r, c, attempt - 1));
        }
        int rc = rh_start(c, url, body, r->api_key);
        if (rc != GLIMP_OK)
            return rc;
        enum rh_state st = wait_whole(r, c, why, sizeof why);
        status = rh_status(c);
        if (st == RH_DONE && status == 200)
            return GLIMP_OK;
        if (st == RH_DONE) {
            remote_status_why(c, status, why, sizeof why);
            if (!remote_retryable_status(status))
                break;
        }
        if (attempt >= r->p.retries)
            break;
    }
    return glimp_error(GLIMP_ERR_REMOTE, "remote %s: %s: %s%s", url, what, why,
                       remote_retries_note(r, status));
}
