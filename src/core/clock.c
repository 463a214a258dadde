/* clock.c - the one clock the library reads its times from (glimp_now):
 * monotonic seconds, so that durations never jump with the wall clock. */
#include "glimp.h"

#include <time.h>

double glimp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
