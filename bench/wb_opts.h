/* wb_opts: the command line of wdm-bench (the README lists it; --help prints it).
 *
 *   wdm-bench SCENARIO [options]     SCENARIO: stress | consistency | mixed
 *
 * Sizes (--orders, --stock, ...) mean what their scenario says; a size not given is -1
 * here and the scenario puts its default in. */
#ifndef WB_OPTS_H
#define WB_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The operations of the mixed scenario, in the order of its --mix weights. */
enum wb_mixed_op {
    WB_OP_STOCK_FIND,
    WB_OP_USER_FIND,
    WB_OP_ADD_FUNDS,
    WB_OP_STOCK_ADD,
    WB_OP_ADD_ITEM,
    WB_OP_ORDER_FIND,
    WB_OP_CHECKOUT,
    WB_MIXED_OPS
};

/* "stock_find", "user_find", ... (the --mix names). */
extern const char *const wb_mixed_op_names[WB_MIXED_OPS];

typedef struct wb_opts {
    const char *scenario;
    const char *url;
    long connections;        /* -c; -1: the scenario's default */
    double duration_s;       /* -d */
    double warmup_s;         /* --warmup */
    double rate;             /* --rate; 0: closed loop */
    long long timeout_ms;    /* --timeout; -1: the scenario's default */
    const char *json_path;   /* --json */
    const char *series_path; /* --series */
    const char *plot_path;   /* --plot */
    bool quiet;              /* --quiet: no progress line */
    bool seeded;             /* --seed given */
    uint64_t seed;
    bool skip_setup; /* --skip-setup (stress) */
    long long n;     /* -n: stress's items = users = orders */
    long long items, users, orders, stock, credit, price;
    unsigned weights[WB_MIXED_OPS]; /* --mix */
} wb_opts;

/* Parses argv into *o. Returns 0; 1 when --help was asked (usage printed to stdout);
 * -EINVAL when the command line is wrong (the reason printed to stderr). */
int wb_opts_parse(wb_opts *o, int argc, char **argv);

/* Prints the usage text to f. */
void wb_opts_usage(FILE *f);

/* Puts def into *v when it is unset (-1). */
static inline void wb_opts_default(long long *v, long long def)
{
    if (*v < 0)
        *v = def;
}

#endif
