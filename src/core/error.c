/* error.c - error codes to text, and the per-thread detailed last error. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GLIMP_ERRMSG_MAX 1024

static _Thread_local char last_error[GLIMP_ERRMSG_MAX];

const char *glimp_strerror(int code)
{
    switch (code) {
    case GLIMP_OK: return "success";
    case GLIMP_ERR_IO: return "input/output error";
    case GLIMP_ERR_FORMAT: return "malformed input";
    case GLIMP_ERR_UNSUPPORTED: return "not supported";
    case GLIMP_ERR_NOT_FOUND: return "not found";
    case GLIMP_ERR_TYPE: return "wrong type";
    case GLIMP_ERR_RANGE: return "out of range";
    case GLIMP_ERR_NOMEM: return "out of memory";
    case GLIMP_ERR_INVALID: return "invalid argument";
    case GLIMP_ERR_REMOTE: return "a model's server failed";
    default: return "unknown error";
    }
}

const char *glimp_last_error(void)
{
    return last_error;
}

int glimp_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

int glimp_error_prefix(int code, const char *fmt, ...)
{
    char prefix[GLIMP_ERRMSG_MAX];
    char old[GLIMP_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    size_t n = strlen(prefix);
    size_t m = strlen(old);
    if (m > sizeof last_error - 1 - n)
        m = sizeof last_error - 1 - n; /* prefix is shorter than the buffer */
    memcpy(last_error, prefix, n);
    memcpy(last_error + n, old, m);
    last_error[n + m] = '\0';
    return code;
}
