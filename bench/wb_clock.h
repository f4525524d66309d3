/* wb_clock: monotonic time in nanoseconds, the bench's one clock. */
#ifndef WB_CLOCK_H
#define WB_CLOCK_H

#include <stdint.h>
#include <time.h>

#define WB_NS_PER_MS 1000000ULL
#define WB_NS_PER_S  1000000000ULL

static inline uint64_t wb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * WB_NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif
