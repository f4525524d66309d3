/* wb_rand: a small, fast pseudo-random generator (splitmix64) for picking ids and
 * operations. Not for anything secret. */
#ifndef WB_RAND_H
#define WB_RAND_H

#include <stdint.h>

typedef struct wb_rand {
    uint64_t s;
} wb_rand;

static inline uint64_t wb_rand_next(wb_rand *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n), n > 0 (the modulo bias is negligible for our n). */
static inline uint64_t wb_rand_below(wb_rand *r, uint64_t n)
{
    return wb_rand_next(r) % n;
}

#endif
