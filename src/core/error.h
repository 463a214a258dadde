/* error.h - how library code reports a failure: a glimp_err code returned up
 * the stack plus a detailed message kept per thread for glimp_last_error(). */
#ifndef GLIMP_CORE_ERROR_H
#define GLIMP_CORE_ERROR_H

#include "glimp.h"

#if defined(__GNUC__)
#define GLIMP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GLIMP_PRINTF(a, b)
#endif

/* Record a message for glimp_last_error() and return code, so that a failure
 * reads `return glimp_error(GLIMP_ERR_FORMAT, "key '%s': ...", key);`. */
int glimp_error(int code, const char *fmt, ...) GLIMP_PRINTF(2, 3);

/* Put context in front of the current message ("model.gguf: " + message)
 * and return code unchanged. */
int glimp_error_prefix(int code, const char *fmt, ...) GLIMP_PRINTF(2, 3);

#endif
