/* rpc_server: rep0 socket, receiving contexts feeding a queue of worker threads (see rpc_server.h). */
#include "rpc_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "log.h"
#include "metrics.h"
#include "rpc_client.h" /* RPC_BATCH_MAX */

/* Answers counted per status: Wdm__Status values below this. */
#define RPC_STATUS_SLOTS 8

static metrics_family rpc_requests = {
    .type = METRICS_COUNTER,
    .name = "wdm_rpc_requests_total",
    .help = "RPC requests answered, by method and status.",
    .labels = {"method", "status"},
};
static metrics_family rpc_seconds = {
    .type = METRICS_HISTOGRAM,
    .name = "wdm_rpc_request_seconds",
    .help = "Time from receiving an RPC request until its answer, by method.",
    .labels = {"method"},
};
static metrics_family rpc_deferred_calls = {
    .type = METRICS_GAUGE,
    .name = "wdm_rpc_deferred_calls",
    .help = "RPC calls whose answer is deferred and not given yet.",
};

static metrics_family rpc_messages = {
    .type = METRICS_COUNTER,
    .name = "wdm_rpc_messages_total",
    .help = "RPC request messages received: single requests, or batches of them.",
    .labels = {"kind"},
};
static metrics_family rpc_batched = {
    .type = METRICS_COUNTER,
    .name = "wdm_rpc_batched_requests_total",
    .help = "Requests that came in batches (over wdm_rpc_messages_total{kind=\"batch\"}: "
            "the mean batch size).",
};

/* A method's series, looked up once at start. */
typedef struct rpc_method_stats {
    metrics_series *seconds;
    metrics_series *answers[RPC_STATUS_SLOTS]; /* by Wdm__Status */
} rpc_method_stats;

/* A worker thread: runs handlers with its own state. */
typedef struct rpc_worker {
    rpc_server *srv;
    pthread_t thread;
    bool started;
    void *state;
} rpc_worker;

/* One receiving context. Its aio's callback (on an nng thread) queues a received
 * request for the workers, and after a reply went out posts the next receive; so a
 * request reaches a worker with one handoff, and a busy worker takes the next queued
 * request without sleeping. */
typedef struct rpc_slot {
    rpc_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    bool sending;           /* the aio carries a reply (else it receives) */
    nng_msg *msg;           /* the request, while queued */
    struct rpc_slot *next;  /* in the queue */
} rpc_slot;

struct rpc_server {
    const rpc_server_config *cfg;
    nng_socket sock;
    rpc_worker *workers;
    int n_workers;
    rpc_slot *slots;
    int n_slots;
    rpc_method_stats *stats;   /* cfg->methods' series, then those of "unknown" */
    metrics_series *deferred;  /* wdm_rpc_deferred_calls */
    metrics_series *singles, *batches, *batched; /* messages by kind; batched requests */
    /* Received requests waiting for a worker: a FIFO of slots, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t ready;
    rpc_slot *head, *tail;
    int idle;                  /* workers waiting on `ready` */
    bool stopping;
};

static int nng_to_errno(int rv)
{
    switch (rv) {
    case 0: return 0;
    case NNG_ENOMEM: return -ENOMEM;
    case NNG_EADDRINUSE: return -EADDRINUSE;
    case NNG_EADDRINVAL: return -EINVAL;
    default: return -EIO;
    }
}

void rpc_call_ok(rpc_call *call, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);

    if (buf == NULL) {
        rpc_call_fail(call, WDM__STATUS__UNAVAILABLE, "out of memory");
        return;
    }
    free(call->reply);
    call->reply = buf;
    call->reply_len = protobuf_c_message_pack(msg, buf);
    call->status = WDM__STATUS__OK;
    call->error[0] = '\0';
}

void rpc_call_fail(rpc_call *call, Wdm__Status status, const char *fmt, ...)
{
    va_list ap;

    free(call->reply);
    call->reply = NULL;
    call->reply_len = 0;
    call->status = status;
    va_start(ap, fmt);
    vsnprintf(call->error, sizeof(call->error), fmt, ap);
    va_end(ap);
}

ProtobufCMessage *rpc_call_unpack(rpc_call *call, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, call->payload.len, call->payload.data);

    if (m == NULL)
        rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "malformed %s", desc->short_name);
    return m;
}

/* Creates the series of every method and of "unknown" (so that each shows 0 from the
 * start). Returns 0 or -ENOMEM. A series the registry cannot hold stays NULL (uncounted). */
static int server_stats_init(rpc_server *srv)
{
    const ProtobufCEnumDescriptor *st = &wdm__status__descriptor;
    size_t n = srv->cfg->n_methods + 1;

    if ((srv->stats = calloc(n, sizeof(*srv->stats))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *method = i < srv->cfg->n_methods ? srv->cfg->methods[i].name : "unknown";
        srv->stats[i].seconds = metrics_series_get(&rpc_seconds, &method, 1);
        for (unsigned j = 0; j < st->n_values; j++) {
            const char *labels[] = {method, st->values[j].name};
            if (st->values[j].value >= 0 && st->values[j].value < RPC_STATUS_SLOTS)
                srv->stats[i].answers[st->values[j].value] =
                    metrics_series_get(&rpc_requests, labels, 2);
        }
    }
    srv->deferred = metrics_series_get(&rpc_deferred_calls, NULL, 0);
    srv->singles = metrics_series_get(&rpc_messages, (const char *[]){"single"}, 1);
    srv->batches = metrics_series_get(&rpc_messages, (const char *[]){"batch"}, 1);
    srv->batched = metrics_series_get(&rpc_batched, NULL, 0);
    return 0;
}

/* Counts an answered call: its status, and the time since it came. */
static void server_count(const rpc_call *call)
{
    const rpc_method_stats *s = call->stats;

    if (s == NULL)
        return;
    metrics_observe_ns(s->seconds, metrics_since_ns(call->received_ns));
    if ((unsigned)call->status < RPC_STATUS_SLOTS)
        metrics_counter_inc(s->answers[call->status]);
}

/* Finds the method of the call (sets def and stats); an unknown method is answered
 * INVALID_ARGUMENT and leaves def NULL. */
static void server_resolve(const rpc_server *srv, rpc_call *call)
{
    const rpc_server_config *cfg = srv->cfg;

    for (size_t i = 0; i < cfg->n_methods; i++) {
        if (strcmp(cfg->methods[i].name, call->method) == 0) {
            call->def = &cfg->methods[i];
            call->stats = &srv->stats[i];
            return;
        }
    }
    rpc_call_fail(call, WDM__STATUS__INVALID_ARGUMENT, "unknown method %.64s", call->method);
}

/* A call not answered yet, for the request req (borrowed: it must outlive the call). */
static rpc_call server_call_init(const rpc_server *srv, rpc_slot *slot,
                                 const Wdm__RpcRequest *req)
{
    rpc_call call = {.status = WDM__STATUS__UNAVAILABLE, .slot = slot,
                     .stats = &srv->stats[srv->cfg->n_methods], /* until resolved */
                     .received_ns = metrics_now_ns()};

    snprintf(call.error, sizeof(call.error), "no answer");
    if (req != NULL) {
        call.method = req->method;
        call.idempotency_key = req->idempotency_key;
        call.idempotency_ttl_s = req->idempotency_ttl_s;
        call.payload = req->payload;
    }
    return call;
}

/* The RpcReply of an answered call; it borrows the call's reply and error. */
static Wdm__RpcReply server_reply_of(const rpc_call *call)
{
    Wdm__RpcReply reply = WDM__RPC_REPLY__INIT;

    reply.status = call->status;
    if (call->status == WDM__STATUS__OK) {
        reply.payload.data = call->reply;
        reply.payload.len = call->reply_len;
    } else {
        reply.error = (char *)call->error;
    }
    return reply;
}

/* Replaces the body of msg with reply, packed. Returns 0, or -ENOMEM (msg unchanged). */
static int server_pack(const Wdm__RpcReply *reply, nng_msg *msg)
{
    size_t len = wdm__rpc_reply__get_packed_size(reply);
    uint8_t *out;
    int rv = 0;

    if ((out = malloc(len ? len : 1)) == NULL)
        return -ENOMEM;
    wdm__rpc_reply__pack(reply, out);
    nng_msg_clear(msg);
    if (nng_msg_append(msg, out, len) != 0)
        rv = -ENOMEM;
    free(out);
    return rv;
}

/* Replaces the body of msg with the packed RpcReply of the answered call.
 * Returns 0, or -ENOMEM (msg unchanged). */
static int server_pack_reply(const rpc_call *call, nng_msg *msg)
{
    Wdm__RpcReply reply = server_reply_of(call);

    return server_pack(&reply, msg);
}

/* The answers of a batch, packed into one reply in place of msg's body. Returns 0 or
 * -ENOMEM (msg unchanged). */
static int server_pack_batch(const rpc_call *calls, size_t n, nng_msg *msg)
{
    Wdm__RpcReply outer = WDM__RPC_REPLY__INIT;
    ProtobufCBinaryData *packed = calloc(n, sizeof(*packed));
    int rv = 0;

    if (packed == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n && rv == 0; i++) {
        Wdm__RpcReply one = server_reply_of(&calls[i]);
        packed[i].len = wdm__rpc_reply__get_packed_size(&one);
        if ((packed[i].data = malloc(packed[i].len ? packed[i].len : 1)) == NULL)
            rv = -ENOMEM;
        else
            wdm__rpc_reply__pack(&one, packed[i].data);
    }
    outer.n_batch = n;
    outer.batch = packed;
    if (rv == 0)
        rv = server_pack(&outer, msg);
    for (size_t i = 0; i < n; i++)
        free(packed[i].data);
    free(packed);
    return rv;
}

/* Runs the n requests of a batch (packed RpcRequests, borrowed) and puts the answers in
 * place of msg's body. Returns 0, or -ENOMEM (msg then still holds the request). */
static int server_handle_batch(const rpc_worker *w, const ProtobufCBinaryData *batch,
                               size_t n, nng_msg *msg)
{
    const rpc_server *srv = w->srv;
    Wdm__RpcRequest **reqs = calloc(n, sizeof(*reqs));
    rpc_call *calls = calloc(n, sizeof(*calls));
    int rv = -ENOMEM;

    if (reqs == NULL || calls == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        reqs[i] = wdm__rpc_request__unpack(NULL, batch[i].len, batch[i].data);
        calls[i] = server_call_init(srv, NULL, reqs[i]);
        if (reqs[i] == NULL || reqs[i]->n_batch > 0)
            rpc_call_fail(&calls[i], WDM__STATUS__INVALID_ARGUMENT, "malformed request envelope");
        else
            server_resolve(srv, &calls[i]);
    }
    if (srv->cfg->run_batch != NULL) {
        srv->cfg->run_batch(w->state, calls, n);
    } else {
        for (size_t i = 0; i < n; i++)
            if (calls[i].def != NULL)
                calls[i].def->fn(w->state, &calls[i]);
    }
    if ((rv = server_pack_batch(calls, n, msg)) == 0)
        for (size_t i = 0; i < n; i++)
            server_count(&calls[i]);
out:
    for (size_t i = 0; calls != NULL && i < n; i++)
        free(calls[i].reply);
    for (size_t i = 0; reqs != NULL && i < n; i++)
        if (reqs[i] != NULL)
            wdm__rpc_request__free_unpacked(reqs[i], NULL);
    free(calls);
    free(reqs);
    return rv;
}

/* Turns one request message into its reply, in place (the body becomes the packed
 * RpcReply). Returns 0; 1 when the handler deferred the answer (msg is then freed);
 * or -ENOMEM (msg then still holds the request, and must be dropped). */
static int server_handle(const rpc_worker *w, rpc_slot *slot, nng_msg *msg)
{
    Wdm__RpcRequest *req = wdm__rpc_request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    rpc_call call = server_call_init(w->srv, slot, req);
    int rv;

    if (req != NULL && req->n_batch > 0 && req->n_batch <= RPC_BATCH_MAX) {
        metrics_counter_inc(w->srv->batches);
        metrics_counter_add(w->srv->batched, req->n_batch);
        rv = server_handle_batch(w, req->batch, req->n_batch, msg);
        wdm__rpc_request__free_unpacked(req, NULL);
        return rv;
    }
    metrics_counter_inc(w->srv->singles);
    if (req == NULL || req->n_batch > 0) {
        rpc_call_fail(&call, WDM__STATUS__INVALID_ARGUMENT, "malformed request envelope");
    } else {
        server_resolve(w->srv, &call);
        if (call.def != NULL)
            call.def->fn(w->state, &call);
    }
    if (call.deferred) {
        nng_msg_free(msg);
        rv = 1;
    } else {
        rv = server_pack_reply(&call, msg);
        server_count(&call);
    }
    free(call.reply);
    if (req != NULL)
        wdm__rpc_request__free_unpacked(req, NULL);
    return rv;
}

/* The slot's aio finished, on an nng thread: a reply went out (post the next receive),
 * or a request came (queue it for the workers). Never blocks. */
static void slot_cb(void *arg)
{
    rpc_slot *slot = arg;
    rpc_server *srv = slot->srv;
    int rv = nng_aio_result(slot->aio);

    if (slot->sending) {
        slot->sending = false;
        /* On a failed send the message is still ours (the requester will re-send). */
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(slot->aio));
    } else if (rv == 0) {
        slot->msg = nng_aio_get_msg(slot->aio);
        slot->next = NULL;
        pthread_mutex_lock(&srv->mu);
        if (srv->tail != NULL)
            srv->tail->next = slot;
        else
            srv->head = slot;
        srv->tail = slot;
        if (srv->idle > 0)
            pthread_cond_signal(&srv->ready);
        pthread_mutex_unlock(&srv->mu);
        return;
    }
    if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
        nng_ctx_recv(slot->ctx, slot->aio);
}

/* The next queued request's slot, waiting for one; NULL once the server stops. */
static rpc_slot *server_take(rpc_server *srv)
{
    rpc_slot *slot;

    pthread_mutex_lock(&srv->mu);
    while (srv->head == NULL && !srv->stopping) {
        srv->idle++;
        pthread_cond_wait(&srv->ready, &srv->mu);
        srv->idle--;
    }
    slot = srv->stopping ? NULL : srv->head;
    if (slot != NULL && (srv->head = slot->next) == NULL)
        srv->tail = NULL;
    pthread_mutex_unlock(&srv->mu);
    return slot;
}

/* A worker: handle queued requests and send their replies; until the server stops. */
static void *server_worker_main(void *arg)
{
    rpc_worker *w = arg;
    rpc_slot *slot;
    nng_msg *msg;
    int rv;

    while ((slot = server_take(w->srv)) != NULL) {
        msg = slot->msg;
        slot->msg = NULL;
        if ((rv = server_handle(w, slot, msg)) == 0) {
            slot->sending = true;
            nng_aio_set_msg(slot->aio, msg);
            nng_ctx_send(slot->ctx, slot->aio);
            continue;
        }
        if (rv < 0) {
            log_error("rpc: out of memory answering a request; dropped");
            nng_msg_free(msg);
        }
        /* Deferred (the slot has a fresh context) or dropped: receive the next. */
        nng_ctx_recv(slot->ctx, slot->aio);
    }
    return NULL;
}

/* ---- deferred answers ---- */

struct rpc_deferred {
    nng_ctx ctx;    /* the context the request came in on: the way back */
    nng_aio *aio;
    rpc_call call;  /* status, error and reply of the answer; received_ns */
    /* Copies of the server's series pointers (series live as long as the process): a
     * deferred call may be answered after its server stopped. */
    rpc_method_stats stats;
    metrics_series *inflight; /* wdm_rpc_deferred_calls */
};

/* The send of a deferred answer finished (on an nng thread): release everything. */
static void deferred_sent_cb(void *arg)
{
    rpc_deferred *d = arg;

    /* A failed send leaves the message ours; the requester will re-send. */
    if (nng_aio_result(d->aio) != 0)
        nng_msg_free(nng_aio_get_msg(d->aio));
    nng_ctx_close(d->ctx);
    free(d->call.reply);
    nng_aio_reap(d->aio);
    free(d);
}

rpc_deferred *rpc_call_defer(rpc_call *call)
{
    rpc_slot *slot = call->slot;
    rpc_deferred *d;
    nng_ctx fresh;

    if (slot == NULL) /* part of a batch: its answer goes with the batch's */
        return NULL;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return NULL;
    if (nng_aio_alloc(&d->aio, deferred_sent_cb, d) != 0)
        goto fail;
    /* The slot keeps receiving on a fresh context; the old one waits for the answer. */
    if (nng_ctx_open(&fresh, slot->srv->sock) != 0) {
        nng_aio_free(d->aio);
        goto fail;
    }
    d->ctx = slot->ctx;
    slot->ctx = fresh;
    if (call->stats != NULL) {
        d->stats = *call->stats;
        d->call.stats = &d->stats;
    }
    d->call.received_ns = call->received_ns;
    d->inflight = slot->srv->deferred;
    call->deferred = true;
    metrics_gauge_add(d->inflight, 1);
    return d;
fail:
    free(d);
    return NULL;
}

/* Sends the answer in d->call and lets deferred_sent_cb free d. */
static void deferred_send(rpc_deferred *d)
{
    nng_msg *msg = NULL;

    metrics_gauge_add(d->inflight, -1);
    server_count(&d->call);
    if (nng_msg_alloc(&msg, 0) != 0 || server_pack_reply(&d->call, msg) != 0) {
        log_error("rpc: out of memory sending a deferred answer; dropped");
        if (msg != NULL)
            nng_msg_free(msg);
        nng_ctx_close(d->ctx);
        free(d->call.reply);
        nng_aio_free(d->aio);
        free(d);
        return;
    }
    nng_aio_set_msg(d->aio, msg);
    nng_ctx_send(d->ctx, d->aio);
}

void rpc_deferred_ok(rpc_deferred *d, const ProtobufCMessage *msg)
{
    rpc_call_ok(&d->call, msg);
    deferred_send(d);
}

void rpc_deferred_fail(rpc_deferred *d, Wdm__Status status, const char *fmt, ...)
{
    va_list ap;

    d->call.status = status;
    va_start(ap, fmt);
    vsnprintf(d->call.error, sizeof(d->call.error), fmt, ap);
    va_end(ap);
    deferred_send(d);
}

/* Frees what rpc_server_start allocated, once nothing runs any more. */
static void server_free(rpc_server *srv)
{
    free(srv->stats);
    free(srv->slots);
    free(srv->workers);
    pthread_cond_destroy(&srv->ready);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

/* Receiving contexts per worker: requests beyond the busy workers wait received, in
 * the queue, rather than in the socket. */
#define RPC_SLOTS_PER_WORKER 2

int rpc_server_start(rpc_server **out, const rpc_server_config *cfg)
{
    rpc_server *srv;
    int rv;

    if ((srv = calloc(1, sizeof(*srv))) == NULL)
        return -ENOMEM;
    srv->cfg = cfg;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->ready, NULL);
    srv->workers = calloc((size_t)cfg->workers, sizeof(rpc_worker));
    srv->slots = calloc((size_t)cfg->workers * RPC_SLOTS_PER_WORKER, sizeof(rpc_slot));
    if (srv->workers == NULL || srv->slots == NULL) {
        rv = -ENOMEM;
        goto fail_sock;
    }
    if ((rv = server_stats_init(srv)) != 0 ||
        (rv = nng_to_errno(nng_rep0_open(&srv->sock))) != 0)
        goto fail_sock;
    for (srv->n_workers = 0; srv->n_workers < cfg->workers; srv->n_workers++) {
        rpc_worker *w = &srv->workers[srv->n_workers];
        w->srv = srv;
        if (cfg->worker_init && (rv = cfg->worker_init(cfg->arg, srv->n_workers, &w->state)) != 0)
            goto fail;
    }
    for (srv->n_slots = 0; srv->n_slots < cfg->workers * RPC_SLOTS_PER_WORKER; srv->n_slots++) {
        rpc_slot *slot = &srv->slots[srv->n_slots];
        slot->srv = srv;
        if ((rv = nng_to_errno(nng_aio_alloc(&slot->aio, slot_cb, slot))) != 0)
            goto fail;
        if ((rv = nng_to_errno(nng_ctx_open(&slot->ctx, srv->sock))) != 0) {
            nng_aio_free(slot->aio);
            goto fail;
        }
    }
    if ((rv = nng_listen(srv->sock, cfg->listen_url, NULL, 0)) != 0) {
        log_error("rpc: cannot listen on %s: %s", cfg->listen_url, nng_strerror(rv));
        rv = nng_to_errno(rv);
        goto fail;
    }
    for (int i = 0; i < srv->n_workers; i++) {
        if (pthread_create(&srv->workers[i].thread, NULL, server_worker_main, &srv->workers[i]) != 0) {
            rv = -EAGAIN;
            goto fail;
        }
        srv->workers[i].started = true;
    }
    for (int i = 0; i < srv->n_slots; i++)
        nng_ctx_recv(srv->slots[i].ctx, srv->slots[i].aio);
    *out = srv;
    return 0;
fail:
    rpc_server_stop(srv);
    return rv;
fail_sock:
    server_free(srv);
    return rv;
}

void rpc_server_stop(rpc_server *srv)
{
    /* Closing the socket ends every pending receive and send with NNG_ECLOSED; the
     * workers finish the handlers they are in, then stop. */
    nng_close(srv->sock);
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->ready);
    pthread_mutex_unlock(&srv->mu);
    for (int i = 0; i < srv->n_workers; i++) {
        rpc_worker *w = &srv->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
    }
    for (int i = 0; i < srv->n_slots; i++)
        nng_aio_stop(srv->slots[i].aio);
    /* Requests received but never handled: their requesters re-send elsewhere. */
    for (rpc_slot *slot = srv->head; slot != NULL; slot = slot->next)
        nng_msg_free(slot->msg);
    for (int i = 0; i < srv->n_slots; i++)
        nng_aio_free(srv->slots[i].aio);
    for (int i = 0; i < srv->n_workers; i++)
        if (srv->cfg->worker_fini && srv->workers[i].state)
            srv->cfg->worker_fini(srv->workers[i].state);
    server_free(srv);
}
