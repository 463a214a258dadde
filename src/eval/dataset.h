/* dataset.h - reading benchmark problems from any stream, so that the
 * parser behind glimp_dataset_load can be fuzzed without files. */
#ifndef GLIMP_EVAL_DATASET_H
#define GLIMP_EVAL_DATASET_H

#include "glimp_eval.h"

#include <stdio.h>

/* glimp_dataset_load on an open stream; path names it in messages. */
int ev_dataset_read(FILE *f, const char *path, bool strict, glimp_bad_line_cb on_bad, void *user,
                    struct glimp_dataset **out);

#endif
