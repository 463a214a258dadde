/* remote_prefill.h - eager sync for the remote backend: while the small
 * model writes steps, the large model's server sits idle, and its next
 * step would first read everything written since its last one. A prefill
 * worker (one thread per backend, its own connection) sends each sequence's
 * newest tokens ahead as a one-token request nobody reads, so that the
 * server's prefix cache (vLLM's automatic prefix caching, SGLang's radix
 * cache, llama-server's cache_prompt, glimp serve's --prompt-cache) holds
 * them when the step comes. Only the newest tokens of a sequence matter: a
 * newer post replaces one still queued. A failed prefill is only counted:
 * the step itself reads what the cache lacks. */
#ifndef GLIMP_REMOTE_PREFILL_H
#define GLIMP_REMOTE_PREFILL_H

#include <stddef.h>
#include <stdint.h>

struct rpf;

/* A worker sending with api_key (NULL: none); the thread starts with the
 * first post. */
int rpf_init(const char *api_key, double connect_timeout_s, double timeout_s, struct rpf **out);
/* Stops the worker (a prefill in flight is dropped). Accepts NULL. */
void rpf_free(struct rpf *w);

/* Post body (a one-token request of owner's tokens, malloc'ed: the worker
 * frees it) to url, replacing owner's queued post. */
void rpf_post(struct rpf *w, const void *owner, const char *url, char *body);
/* Before owner's own request: its queued post is dropped (the request
 * reads those tokens itself) and its prefill in flight waited for, so that
 * the request finds it in the cache. Returns the seconds waited. */
double rpf_settle(struct rpf *w, const void *owner);

struct rpf_stats {
    uint64_t posted;   /* posts made */
    uint64_t sent;     /* prefill requests sent */
    uint64_t failed;   /* of them, failed or refused */
    double busy_s;     /* time requests were in flight */
    double waited_s;   /* time requests of the sequences waited for them (rpf_settle) */
};
void rpf_stats(struct rpf *w, struct rpf_stats *out);

#endif
