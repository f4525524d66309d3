/* wb_opts: command-line parsing for wdm-bench (see wb_opts.h). */
#include "wb_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const wb_mixed_op_names[WB_MIXED_OPS] = {
    [WB_OP_STOCK_FIND] = "stock_find", [WB_OP_USER_FIND] = "user_find",
    [WB_OP_ADD_FUNDS] = "add_funds",   [WB_OP_STOCK_ADD] = "stock_add",
    [WB_OP_ADD_ITEM] = "add_item",     [WB_OP_ORDER_FIND] = "order_find",
    [WB_OP_CHECKOUT] = "checkout",
};

static const unsigned default_weights[WB_MIXED_OPS] = {30, 20, 10, 10, 10, 10, 10};

void wb_opts_usage(FILE *f)
{
    fputs("usage: wdm-bench SCENARIO [options]\n"
          "\n"
          "scenarios:\n"
          "  stress       batch_init users, items and orders, then check out random orders\n"
          "  consistency  --orders orders of one item with --stock units, users with credit 1,\n"
          "               all checked out at once; then read back and check every invariant\n"
          "  mixed        a weighted mix of reads, writes and fresh checkouts over a pool\n"
          "\n"
          "load:\n"
          "  --url URL          the gateway (default http://127.0.0.1:8000)\n"
          "  -c, --connections N  keep-alive connections (default 64; consistency 200)\n"
          "  -d, --duration S   seconds of measured load (default 10)\n"
          "  --warmup S         seconds of load before that, not counted (default 0)\n"
          "  --rate R           open loop: R requests/s in all, latency from the intended send\n"
          "                     time (default: closed loop)\n"
          "  --timeout MS       per request (default 30000; consistency 120000)\n"
          "\n"
          "output:\n"
          "  --json FILE        the report as JSON\n"
          "  --series FILE.csv  one row per second: t,rps,p50_ms,p90_ms,p99_ms,max_ms,errors\n"
          "  --plot FILE.png    draw that series with gnuplot (needs --series or makes FILE.csv)\n"
          "  -q, --quiet        no progress line on stderr\n"
          "\n"
          "data:\n"
          "  -n N               stress: items = users = orders = N (default 100000)\n"
          "  --items N --users N --orders N   counts (stress: 100000 each; consistency: 1000\n"
          "                     orders, users = orders; mixed: a pool of 1000 each)\n"
          "  --stock N          stress/mixed: starting stock (1000000); consistency: units of\n"
          "                     the one item (100)\n"
          "  --credit N         stress/mixed: starting credit (1000000)\n"
          "  --price N          stress/mixed: item price (1)\n"
          "  --skip-setup       stress: use the data a previous run made; mixed: use\n"
          "                     batch_init's ids 0..n-1 as the pool (create nothing)\n"
          "  --seed N           random seed (default: from the clock)\n"
          "  --mix W            mixed: weights, e.g. stock_find=30,user_find=20,add_funds=10,\n"
          "                     stock_add=10,add_item=10,order_find=10,checkout=10 (the default;\n"
          "                     operations not named get 0)\n"
          "\n"
          "exit status: 0 no errors (and every check passed); 1 errors or a failed check;\n"
          "2 bad usage, or the setup or read-back failed; 130 interrupted (SIGINT).\n",
          f);
}

enum {
    OPT_WARMUP = 256,
    OPT_RATE,
    OPT_TIMEOUT,
    OPT_URL,
    OPT_JSON,
    OPT_SERIES,
    OPT_PLOT,
    OPT_SEED,
    OPT_SKIP_SETUP,
    OPT_ITEMS,
    OPT_USERS,
    OPT_ORDERS,
    OPT_STOCK,
    OPT_CREDIT,
    OPT_PRICE,
    OPT_MIX,
};

static const struct option long_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"rate", required_argument, NULL, OPT_RATE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"url", required_argument, NULL, OPT_URL},
    {"json", required_argument, NULL, OPT_JSON},
    {"series", required_argument, NULL, OPT_SERIES},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"quiet", no_argument, NULL, 'q'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"skip-setup", no_argument, NULL, OPT_SKIP_SETUP},
    {"items", required_argument, NULL, OPT_ITEMS},
    {"users", required_argument, NULL, OPT_USERS},
    {"orders", required_argument, NULL, OPT_ORDERS},
    {"stock", required_argument, NULL, OPT_STOCK},
    {"credit", required_argument, NULL, OPT_CREDIT},
    {"price", required_argument, NULL, OPT_PRICE},
    {"mix", required_argument, NULL, OPT_MIX},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A whole number in [min, max]. */
static int parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Seconds or a rate: a finite number >= min, optionally followed by "s". */
static int parse_num(const char *s, double min, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (*end == 's')
        end++;
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "name=w,name=w": the weights of the mixed operations; unnamed ones get 0. */
static int parse_mix(const char *s, unsigned *w)
{
    char buf[512], *save = NULL, *tok;
    unsigned total = 0;

    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    memset(w, 0, WB_MIXED_OPS * sizeof(*w));
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        long long v;
        unsigned i;
        if (eq == NULL || parse_ll(eq + 1, 0, 1000000, &v) != 0)
            return -EINVAL;
        *eq = '\0';
        for (i = 0; i < WB_MIXED_OPS && strcmp(tok, wb_mixed_op_names[i]) != 0; i++)
            ;
        if (i == WB_MIXED_OPS)
            return -EINVAL;
        w[i] = (unsigned)v;
        total += (unsigned)v;
    }
    return total > 0 ? 0 : -EINVAL;
}

static void defaults(wb_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->url = "http://127.0.0.1:8000";
    o->connections = -1;
    o->duration_s = 10;
    o->timeout_ms = -1;
    o->n = o->items = o->users = o->orders = o->stock = o->credit = o->price = -1;
    memcpy(o->weights, default_weights, sizeof(o->weights));
}

/* One option (getopt's c with its argument). Returns 0, 1 (--help) or -EINVAL. */
static int apply(wb_opts *o, int c, const char *arg)
{
    const long long big = 1LL << 53; /* the API's largest amount (DESIGN §3) */
    long long v;

    switch (c) {
    case 'c':
        if (parse_ll(arg, 1, 100000, &v) != 0)
            return -EINVAL;
        o->connections = (long)v;
        return 0;
    case 'd': return parse_num(arg, 0.001, &o->duration_s);
    case OPT_WARMUP: return parse_num(arg, 0, &o->warmup_s);
    case OPT_RATE: return parse_num(arg, 0, &o->rate);
    case OPT_TIMEOUT: return parse_ll(arg, 1, 3600000, &o->timeout_ms);
    case OPT_URL: o->url = arg; return 0;
    case OPT_JSON: o->json_path = arg; return 0;
    case OPT_SERIES: o->series_path = arg; return 0;
    case OPT_PLOT: o->plot_path = arg; return 0;
    case 'q': o->quiet = true; return 0;
    case OPT_SEED:
        if (parse_ll(arg, 0, INT64_MAX, &v) != 0)
            return -EINVAL;
        o->seed = (uint64_t)v;
        o->seeded = true;
        return 0;
    case OPT_SKIP_SETUP: o->skip_setup = true; return 0;
    case 'n': return parse_ll(arg, 1, UINT32_MAX, &o->n);
    case OPT_ITEMS: return parse_ll(arg, 1, UINT32_MAX, &o->items);
    case OPT_USERS: return parse_ll(arg, 1, UINT32_MAX, &o->users);
    case OPT_ORDERS: return parse_ll(arg, 1, UINT32_MAX, &o->orders);
    case OPT_STOCK: return parse_ll(arg, 0, big, &o->stock);
    case OPT_CREDIT: return parse_ll(arg, 0, big, &o->credit);
    case OPT_PRICE: return parse_ll(arg, 0, big, &o->price);
    case OPT_MIX: return parse_mix(arg, o->weights);
    case 'h': return 1;
    default: return -EINVAL;
    }
}

/* "--rate" for OPT_RATE, "-n" for 'n'. */
static const char *opt_name(int c)
{
    static char buf[48];

    for (const struct option *lo = long_opts; lo->name; lo++) {
        if (lo->val == c) {
            snprintf(buf, sizeof(buf), "--%s", lo->name);
            return buf;
        }
    }
    snprintf(buf, sizeof(buf), "-%c", c);
    return buf;
}

int wb_opts_parse(wb_opts *o, int argc, char **argv)
{
    int c, rv;

    defaults(o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:d:n:qh", long_opts, NULL)) != -1) {
        if (c == '?') {
            fprintf(stderr, "wdm-bench: unknown option or missing value: %s\n", argv[optind - 1]);
            return -EINVAL;
        }
        if ((rv = apply(o, c, optarg)) == 1) {
            wb_opts_usage(stdout);
            return 1;
        }
        if (rv != 0) {
            fprintf(stderr, "wdm-bench: bad value for %s: %s\n", opt_name(c), optarg);
            return -EINVAL;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "wdm-bench: name one scenario: stress, consistency or mixed (--help)\n");
        return -EINVAL;
    }
    o->scenario = argv[optind];
    return 0;
}
