/* remote_http.h - the HTTP side of the remote backend: one connection (a
 * libcurl multi handle with one easy handle, so that the connection is kept
 * and reused from request to request) that sends a JSON POST or a GET and
 * hands back the answer whole, or event by event for a server-sent-events
 * stream, never blocking longer than the caller allows. The SSE line
 * splitting is kept apart (rh_sse_next) so that a fuzz target can reach it. */
#ifndef GLIMP_REMOTE_HTTP_H
#define GLIMP_REMOTE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes one answer may hold before it is refused (a stream's
 * unread events included). */
#define RH_MAX_BODY (64u << 20)

struct rh_conn;

/* What a finished or failed transfer gives. */
enum rh_state {
    RH_RUNNING = 0, /* still going: more may come */
    RH_DONE,        /* the server finished its answer */
    RH_FAILED,      /* the transfer broke (connection refused, reset, TLS, too big) */
};

int rh_open(double connect_timeout_s, struct rh_conn **out);
void rh_close(struct rh_conn *c); /* accepts NULL */

/* Start a request (body NULL: GET, else a JSON POST); any transfer still
 * running is dropped first (the server sees the client go). api_key NULL:
 * no Authorization header. */
int rh_start(struct rh_conn *c, const char *url, const char *body, const char *api_key);
/* Drop the transfer in flight, if any: closing its connection aborts the
 * request on the server's side. */
void rh_abort(struct rh_conn *c);
bool rh_active(const struct rh_conn *c);

/* Run the transfer until new bytes arrive, it ends, or wait_s passes.
 * Returns its state; *got says whether bytes came. */
enum rh_state rh_pump(struct rh_conn *c, double wait_s, bool *got);

/* The answer so far: HTTP status (0 before the headers), the body bytes
 * not yet taken by rh_sse_take, Retry-After in seconds (-1: none), and the
 * failure's text. */
long rh_status(const struct rh_conn *c);
const char *rh_body(const struct rh_conn *c, size_t *len);
double rh_retry_after(const struct rh_conn *c);
const char *rh_failure(const struct rh_conn *c);
/* Whether any byte of the answer (headers included) has come. */
bool rh_got_bytes(const struct rh_conn *c);

/* Take the next complete "data:" payload of an SSE stream from the body
 * (*data points into the connection's buffer, valid until the next call;
 * not NUL-terminated). false when no complete line is there yet. Lines
 * that are not data (comments, event:, id:) are skipped. */
bool rh_sse_take(struct rh_conn *c, const char **data, size_t *len);

/* The same on a plain buffer: the first complete data line in buf[0..n),
 * *consumed the bytes up to and including its line end (or every complete
 * line skipped when none holds data). Pure: for the fuzz target. */
bool rh_sse_next(const char *buf, size_t n, size_t *consumed, const char **data, size_t *len);

#endif
