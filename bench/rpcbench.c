/* wdm-rpcbench: the ceiling of the internal RPC (DESIGN §4) on this machine.
 *
 *   wdm-rpcbench [--mode rpc|nng] [--server rpc|nng] [--client rpc|nng] [-c CALLERS] [-w WORKERS] [-d SECONDS] [--split] [--url URL]
 *
 * A server and `-c` callers that each send a request again as soon as the reply comes,
 * for `-d` seconds (after one second of warm-up); then one line: round trips per
 * second, CPU µs and context switches per round trip (client and server together).
 *
 *   --mode rpc   our layers: rpc_server (WORKERS threads, a handler that answers OK at
 *                once) and rpc_client (asynchronous calls), protobuf envelopes included
 *   --mode nng   bare nng req0/rep0, one callback-driven context per worker and caller
 *   --server, --client   one side only (a bare nng caller's request is no envelope: our
 *                server answers INVALID_ARGUMENT, still one round trip; our caller
 *                counts a bare server's echo as failed, still one round trip)
 *   --split      the server in a child process, as between two of our processes
 *
 * Nothing but the RPC runs, so the figure bounds any request that crosses it once (a
 * read of stock through the gateway crosses it once, a checkout twice or more).
 * Exits 0 when round trips were made and none failed (ctest runs it so). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "rpc_client.h"
#include "rpc_server.h"
#include "validate.h"

#define RB_METHOD "bench.echo"
#define RB_TIMEOUT_MS 10000

typedef struct rb_opts {
    const char *server;  /* "rpc" or "nng" */
    const char *client;
    const char *url;
    int callers;
    int workers;
    int seconds;
    bool split;
} rb_opts;

static atomic_long rb_done;
static atomic_long rb_failed;
static atomic_int rb_stop;  /* set once the run ends: callers send no more */

/* ---- CPU time and context switches of a process, all its threads ---- */

typedef struct rb_sample {
    double cpu_s;
    long switches;
} rb_sample;

/* Adds pid's CPU time (/proc/pid/stat: every thread, dead ones too) and the context
 * switches of its live threads (/proc/pid/task/tid/status) to *s. Returns 0 or -errno. */
static int rb_sample_add(pid_t pid, rb_sample *s)
{
    char path[64], line[256];
    unsigned long utime, stime;
    FILE *f;
    DIR *tasks;
    struct dirent *t;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -errno;
    /* Fields 14 and 15, after the ") " that ends the command name. */
    if (fgets(line, sizeof(line), f) == NULL || strrchr(line, ')') == NULL ||
        sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2) {
        fclose(f);
        return -EPROTO;
    }
    fclose(f);
    s->cpu_s += (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((tasks = opendir(path)) == NULL)
        return -errno;
    while ((t = readdir(tasks)) != NULL) {
        long v;
        if (t->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", (int)pid, t->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue; /* the thread ended meanwhile */
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                s->switches += v;
        fclose(f);
    }
    closedir(tasks);
    return 0;
}

/* ---- mode rpc: our rpc_server and rpc_client ---- */

static void rb_echo(void *state, rpc_call *call)
{
    Wdm__RpcReply empty = WDM__RPC_REPLY__INIT;

    (void)state;
    rpc_call_ok(call, &empty.base); /* any message: its packed form is empty */
}

static const rpc_method rb_methods[] = {{RB_METHOD, rb_echo, NULL}};

static int rb_rpc_serve(const rb_opts *o, rpc_server **out)
{
    static rpc_server_config cfg;

    cfg = (rpc_server_config){.listen_url = o->url, .workers = o->workers,
                              .methods = rb_methods, .n_methods = 1};
    return rpc_server_start(out, &cfg);
}

static void rb_rpc_again(void *arg, int rv, Wdm__RpcReply *reply);

static void rb_rpc_send(rpc_client *c)
{
    Wdm__RpcReply empty = WDM__RPC_REPLY__INIT;

    if (rpc_client_call_async(c, RB_METHOD, NULL, 0, &empty.base, RB_TIMEOUT_MS, rb_rpc_again, c) != 0)
        atomic_fetch_add(&rb_failed, 1);
}

/* A reply came: count it and send the next request (until the run ends). */
static void rb_rpc_again(void *arg, int rv, Wdm__RpcReply *reply)
{
    if (rv == 0)
        atomic_fetch_add(&rb_done, 1);
    else
        atomic_fetch_add(&rb_failed, 1);
    if (reply != NULL)
        wdm__rpc_reply__free_unpacked(reply, NULL);
    if (rv != -ECANCELED && !rb_stop)
        rb_rpc_send(arg);
}

/* ---- mode nng: bare req0/rep0, callback-driven contexts ---- */

typedef struct rb_ctx {
    nng_ctx ctx;
    nng_aio *aio;
    bool sending;
} rb_ctx;

/* Server context: after a receive, answer an empty body; after a send, receive again. */
static void rb_nng_serve_cb(void *arg)
{
    rb_ctx *x = arg;
    int rv = nng_aio_result(x->aio);

    if (rv == NNG_ECLOSED)
        return;
    if (rv != 0 && x->sending)
        nng_msg_free(nng_aio_get_msg(x->aio));
    x->sending = rv == 0 && !x->sending;
    if (x->sending) {
        nng_msg_clear(nng_aio_get_msg(x->aio)); /* an empty body: RpcReply status OK */
        nng_ctx_send(x->ctx, x->aio);
    }
    else
        nng_ctx_recv(x->ctx, x->aio);
}

/* A request for RB_METHOD, packed (what rpc_client sends, without a payload). */
static nng_msg *rb_nng_request(void)
{
    static const uint8_t envelope[] = {0x0a, sizeof(RB_METHOD) - 1, 'b', 'e', 'n', 'c', 'h', '.',
                                       'e', 'c', 'h', 'o'};
    nng_msg *m;

    if (nng_msg_alloc(&m, 0) != 0)
        return NULL;
    if (nng_msg_append(m, envelope, sizeof(envelope)) != 0) {
        nng_msg_free(m);
        return NULL;
    }
    return m;
}

/* Caller context: after a send, receive the reply; after the reply, send again. */
static void rb_nng_call_cb(void *arg)
{
    rb_ctx *x = arg;
    int rv = nng_aio_result(x->aio);
    nng_msg *m;

    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    if (x->sending) {
        x->sending = false;
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(x->aio));
            atomic_fetch_add(&rb_failed, 1);
        }
        nng_ctx_recv(x->ctx, x->aio);
        return;
    }
    if (rv == 0) {
        nng_msg_free(nng_aio_get_msg(x->aio));
        atomic_fetch_add(&rb_done, 1);
    } else {
        atomic_fetch_add(&rb_failed, 1);
    }
    if (rb_stop || (m = rb_nng_request()) == NULL)
        return;
    x->sending = true;
    nng_aio_set_msg(x->aio, m);
    nng_ctx_send(x->ctx, x->aio);
}

/* Opens n contexts on sock with cb, each started by `start` (receive, or a first send). */
static int rb_nng_contexts(nng_socket sock, int n, void (*cb)(void *), bool first_send)
{
    for (int i = 0; i < n; i++) {
        rb_ctx *x = calloc(1, sizeof(*x));  /* lives until the process exits */
        nng_msg *m;
        if (x == NULL || nng_ctx_open(&x->ctx, sock) != 0 || nng_aio_alloc(&x->aio, cb, x) != 0)
            return -ENOMEM;
        if (!first_send) {
            nng_ctx_recv(x->ctx, x->aio);
            continue;
        }
        if ((m = rb_nng_request()) == NULL)
            return -ENOMEM;
        x->sending = true;
        nng_aio_set_msg(x->aio, m);
        nng_ctx_send(x->ctx, x->aio);
    }
    return 0;
}

/* ---- the run ---- */

static int rb_serve(const rb_opts *o, nng_socket *sock, rpc_server **srv)
{
    int rv;

    if (strcmp(o->server, "rpc") == 0)
        return rb_rpc_serve(o, srv);
    if ((rv = nng_rep0_open(sock)) != 0 || (rv = nng_listen(*sock, o->url, NULL, 0)) != 0) {
        fprintf(stderr, "wdm-rpcbench: listen %s: %s\n", o->url, nng_strerror(rv));
        return -EIO;
    }
    return rb_nng_contexts(*sock, o->workers, rb_nng_serve_cb, false);
}

static int rb_call(const rb_opts *o, nng_socket *sock, rpc_client **cli)
{
    int rv;

    if (strcmp(o->client, "rpc") == 0) {
        if ((rv = rpc_client_open(cli, o->url)) != 0)
            return rv;
        for (int i = 0; i < o->callers; i++)
            rb_rpc_send(*cli);
        return 0;
    }
    if ((rv = nng_req0_open(sock)) != 0 || (rv = nng_dial(*sock, o->url, NULL, NNG_FLAG_NONBLOCK)) != 0)
        return -EIO;
    return rb_nng_contexts(*sock, o->callers, rb_nng_call_cb, true);
}

/* The server of --split: serves until SIGTERM (taken with sigwait, so that a SIGTERM
 * that comes at any moment ends it). */
static int rb_child(const rb_opts *o)
{
    nng_socket sock;
    rpc_server *srv = NULL;
    sigset_t term;
    int sig;

    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    /* Before any nng thread exists, so that they all inherit the blocked signal. */
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    if (rb_serve(o, &sock, &srv) != 0)
        return 1;
    sigwait(&term, &sig);
    return 0;
}

static int rb_usage(void)
{
    fprintf(stderr, "usage: wdm-rpcbench [--mode|--server|--client rpc|nng] [-c CALLERS] [-w WORKERS] "
                    "[-d SECONDS] [--split] [--url URL]\n");
    return 2;
}

/* Parses v as a count in 1..max into *out; false when it is not one. */
static bool rb_count(const char *v, int64_t max, int *out)
{
    int64_t n;

    if (validate_uint(v, strlen(v), &n) != 0 || n < 1 || n > max)
        return false;
    *out = (int)n;
    return true;
}

static int rb_parse(int argc, char **argv, rb_opts *o)
{
    *o = (rb_opts){.server = "rpc", .client = "rpc", .url = "tcp://127.0.0.1:17999", .callers = 64,
                   .workers = 16, .seconds = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--split") == 0) {
            o->split = true;
            continue;
        }
        if (v == NULL)
            return -EINVAL;
        i++;
        bool kind = strcmp(v, "rpc") == 0 || strcmp(v, "nng") == 0;
        if (strcmp(a, "--mode") == 0 && kind)
            o->server = o->client = v;
        else if (strcmp(a, "--server") == 0 && kind)
            o->server = v;
        else if (strcmp(a, "--client") == 0 && kind)
            o->client = v;
        else if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "-c") == 0 && rb_count(v, 4096, &o->callers))
            continue;
        else if (strcmp(a, "-w") == 0 && rb_count(v, 1024, &o->workers))
            continue;
        else if (strcmp(a, "-d") == 0 && rb_count(v, 3600, &o->seconds))
            continue;
        else
            return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    rb_opts o;
    pid_t child = 0;
    nng_socket ssock, csock;
    rpc_server *srv = NULL;
    rpc_client *cli = NULL;
    rb_sample a = {0}, b = {0};
    long done0;
    double rate;

    if (rb_parse(argc, argv, &o) != 0)
        return rb_usage();
    /* Fork before any nng thread exists. */
    if (o.split && (child = fork()) == 0)
        return rb_child(&o);
    if (child < 0 || (!o.split && rb_serve(&o, &ssock, &srv) != 0) || rb_call(&o, &csock, &cli) != 0) {
        fprintf(stderr, "wdm-rpcbench: cannot start\n");
        if (child > 0)
            kill(child, SIGTERM);
        return 1;
    }
    sleep(1);
    done0 = atomic_load(&rb_done);
    rb_sample_add(getpid(), &a);
    if (child > 0)
        rb_sample_add(child, &a);
    sleep((unsigned)o.seconds);
    rb_sample_add(getpid(), &b);
    if (child > 0)
        rb_sample_add(child, &b);
    rate = (double)(atomic_load(&rb_done) - done0) / o.seconds;
    printf("server %s%s, client %s, %d callers, %d workers: %.0f round trips/s, %.1f CPU µs and %.1f "
           "context switches per round trip, %ld failed\n",
           o.server, o.split ? " (in its own process)" : "", o.client, o.callers, o.workers, rate,
           rate > 0 ? (b.cpu_s - a.cpu_s) * 1e6 / (rate * o.seconds) : 0.0,
           rate > 0 ? (double)(b.switches - a.switches) / (rate * o.seconds) : 0.0,
           atomic_load(&rb_failed));
    fflush(stdout);
    rb_stop = 1;
    if (child > 0) {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
    }
    /* The callers stop on their next reply; the process exit ends the rest. */
    _exit(atomic_load(&rb_done) > done0 && atomic_load(&rb_failed) == 0 ? 0 : 1);
}
