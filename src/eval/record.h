/* record.h - the results.jsonl record (struct glimp_eval_record): made from a
 * router result, written as one JSON line, read back. The one place that
 * knows the line's fields; the eval run, the report and the demo go
 * through it. */
#ifndef GLIMP_EVAL_RECORD_H
#define GLIMP_EVAL_RECORD_H

#include "glimp_eval.h"

#include <stdio.h>

/* The record of one problem run by a method: strings and the router
 * result's thinking steps are borrowed, so rec is valid while they are;
 * steps (r->n_steps entries at least) receives the steps. */
void ev_record_make(struct glimp_eval_record *rec, const struct glimp_method *m, uint32_t run,
                    const struct glimp_problem *pb, bool correct, const char *extracted,
                    const struct glimp_router_result *r, struct glimp_eval_step *steps);

/* rec as one compact JSON line ending in '\n', malloc'ed. */
int ev_record_format(const struct glimp_eval_record *rec, char **line);

/* How ev_records_read takes a line that is not a record. */
struct ev_read_opts {
    /* NULL: it is an error (GLIMP_ERR_FORMAT naming it). Else it is passed
     * here ("not JSON: ...") and skipped. */
    void (*on_bad)(size_t line, const char *why, void *user);
    /* A last line without '\n' is read as a line (true), or left unread
     * and counted in *torn (false: a line cut off by a kill). */
    bool tail_is_line;
};

/* Read path's records in order into fn (see glimp_eval_records_read).
 * *complete (may be NULL) gets the bytes up to the end of the last line
 * ending in '\n', *torn (may be NULL) the bytes after it. */
int ev_records_read(const char *path, const struct ev_read_opts *o, glimp_eval_record_cb fn,
                    void *user, size_t *complete, size_t *torn);

#endif
