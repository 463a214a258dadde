/* testutil.h - small helpers shared by the unit tests: a seeded RNG, scratch
 * files, whole-file reads. Test code only; aborts on failure. */
#ifndef GLIMP_TESTUTIL_H
#define GLIMP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: deterministic, seedable, good enough for test data. */
uint64_t tu_rng_u64(uint64_t *state);
float tu_rng_uniform(uint64_t *state); /* [0, 1) */
float tu_rng_normal(uint64_t *state);  /* mean 0, sd 1 */

/* A path "<per-process scratch dir>/<name>"; the dir is removed at exit.
 * Returned string is static storage, overwritten by the next call. */
const char *tu_tmp_path(const char *name);

/* Whole file in a malloc'ed buffer (NUL-terminated beyond size). */
void *tu_read_file(const char *path, size_t *size);
void tu_write_file(const char *path, const void *data, size_t size);

#endif
