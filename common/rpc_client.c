/* rpc_client: req0 socket dialing every replica; one context per call (see rpc_client.h).
 *
 * An asynchronous call's context and aio come from the client's pool and go back to it
 * when the call got its reply: opening a context and freeing an aio per call cost
 * locking, allocation and, for the aio (reaped from its own callback), a wakeup of
 * nng's reaper thread. A call that failed is destroyed instead (its context may still
 * hold the request). */
#include "rpc_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>

#include "log.h"

/* How long a request may sit with a replica that neither answers nor dies before nng
 * sends it again (to any replica). Handlers are idempotent, so a re-send is safe. */
#define RPC_RESEND_MS 15000
/* Idle calls kept for reuse, at most. */
#define RPC_POOL_MAX 1024

typedef struct rpc_pending rpc_pending;

struct rpc_client {
    nng_socket sock;
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inflight drops to 0 */
    rpc_pending *pool;   /* idle calls (guarded by mu) */
    size_t pooled;       /* length of pool (guarded by mu) */
    size_t inflight;     /* calls started and not ended yet (guarded by mu) */
};

/* One asynchronous call: in flight, or idle in its client's pool. */
struct rpc_pending {
    rpc_client *client;
    nng_ctx ctx;
    nng_aio *aio;
    bool sent;
    rpc_done_fn done;             /* a single call's callback, or NULL */
    rpc_batch_done_fn batch_done; /* a batch's callback, or NULL */
    size_t n;                     /* requests in the batch */
    void *arg;
    rpc_pending *next; /* in the pool */
};

static int client_errno(int rv)
{
    switch (rv) {
    case 0: return 0;
    case NNG_ETIMEDOUT: return -ETIMEDOUT;
    case NNG_ECLOSED:
    case NNG_ECANCELED: return -ECANCELED;
    case NNG_ENOMEM: return -ENOMEM;
    default: return -EIO;
    }
}

int rpc_client_open(rpc_client **out, const char *urls)
{
    rpc_client *c;
    char *list, *save = NULL;
    int rv;

    if ((c = calloc(1, sizeof(*c))) == NULL)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    if ((list = strdup(urls)) == NULL) {
        free(c);
        return -ENOMEM;
    }
    if ((rv = nng_req0_open(&c->sock)) != 0)
        goto fail;
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, RPC_RESEND_MS);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
    for (char *url = strtok_r(list, ",", &save); url; url = strtok_r(NULL, ",", &save)) {
        /* Non-blocking: a replica that is not up yet is dialed again until it is. */
        if ((rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
            log_error("rpc: cannot dial %s: %s", url, nng_strerror(rv));
            nng_close(c->sock);
            goto fail;
        }
    }
    free(list);
    *out = c;
    return 0;
fail:
    free(list);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return rv == NNG_ENOMEM ? -ENOMEM : -EINVAL;
}

void rpc_client_close(rpc_client *c)
{
    rpc_pending *p;

    /* Ends every call in flight: their callbacks run and report -ECANCELED. */
    nng_close(c->sock);
    pthread_mutex_lock(&c->mu);
    while (c->inflight > 0)
        pthread_cond_wait(&c->idle, &c->mu);
    pthread_mutex_unlock(&c->mu);
    while ((p = c->pool) != NULL) {
        c->pool = p->next;
        nng_ctx_close(p->ctx);
        nng_aio_free(p->aio);
        free(p);
    }
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int rpc_request_pack(const char *method, const char *key, uint32_t key_ttl_s,
                     const ProtobufCMessage *req, ProtobufCBinaryData *out)
{
    Wdm__RpcRequest env = WDM__RPC_REQUEST__INIT;
    size_t plen = protobuf_c_message_get_packed_size(req), len;
    uint8_t *payload = malloc(plen ? plen : 1);

    if (payload == NULL)
        return -ENOMEM;
    protobuf_c_message_pack(req, payload);
    env.method = (char *)method;
    env.idempotency_key = (char *)(key ? key : "");
    env.idempotency_ttl_s = key_ttl_s;
    env.payload.data = payload;
    env.payload.len = plen;
    len = wdm__rpc_request__get_packed_size(&env);
    if ((out->data = malloc(len ? len : 1)) != NULL)
        out->len = wdm__rpc_request__pack(&env, out->data);
    free(payload);
    return out->data != NULL ? 0 : -ENOMEM;
}

/* The message of a request, or of a batch of them when n > 1 (packed RpcRequests,
 * borrowed). Returns 0 and sets *out (the caller's), or -ENOMEM. */
static int client_build_packed(const ProtobufCBinaryData *reqs, size_t n, nng_msg **out)
{
    Wdm__RpcRequest env = WDM__RPC_REQUEST__INIT;
    nng_msg *msg = NULL;

    if (n == 1) {
        if (nng_msg_alloc(&msg, reqs[0].len) != 0)
            return -ENOMEM;
        memcpy(nng_msg_body(msg), reqs[0].data, reqs[0].len);
    } else {
        env.method = "";
        env.idempotency_key = "";
        env.n_batch = n;
        env.batch = (ProtobufCBinaryData *)reqs;
        if (nng_msg_alloc(&msg, wdm__rpc_request__get_packed_size(&env)) != 0)
            return -ENOMEM;
        wdm__rpc_request__pack(&env, nng_msg_body(msg));
    }
    *out = msg;
    return 0;
}

/* Builds the request message. Returns 0 and sets *out (the caller's), or -ENOMEM. */
static int client_build(const char *method, const char *key, uint32_t key_ttl_s,
                        const ProtobufCMessage *req, nng_msg **out)
{
    ProtobufCBinaryData packed;
    int rv;

    if ((rv = rpc_request_pack(method, key, key_ttl_s, req, &packed)) != 0)
        return rv;
    rv = client_build_packed(&packed, 1, out);
    free(packed.data);
    return rv;
}

/* Decodes and frees a reply message. Returns 0 and sets *reply (the caller's), or -EPROTO. */
static int client_decode(nng_msg *msg, Wdm__RpcReply **reply)
{
    *reply = wdm__rpc_reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    nng_msg_free(msg);
    return *reply ? 0 : -EPROTO;
}

/* Splits the answer to a batch of n > 1 into its n replies (replies[0..n), the caller's)
 * and frees outer. Returns 0, or -EPROTO (nothing is then the caller's). */
static int client_split(Wdm__RpcReply *outer, size_t n, Wdm__RpcReply **replies)
{
    size_t i = 0;

    if (outer->n_batch == n)
        for (; i < n; i++)
            if ((replies[i] = wdm__rpc_reply__unpack(NULL, outer->batch[i].len,
                                                     outer->batch[i].data)) == NULL)
                break;
    wdm__rpc_reply__free_unpacked(outer, NULL);
    if (i == n)
        return 0;
    while (i > 0)
        wdm__rpc_reply__free_unpacked(replies[--i], NULL);
    return -EPROTO;
}

static void pending_cb(void *arg);

/* Takes an idle call from the pool, or makes one. Returns NULL when out of memory. */
static rpc_pending *pending_get(rpc_client *c)
{
    rpc_pending *p;

    pthread_mutex_lock(&c->mu);
    if ((p = c->pool) != NULL) {
        c->pool = p->next;
        c->pooled--;
    }
    pthread_mutex_unlock(&c->mu);
    if (p != NULL)
        return p;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->client = c;
    if (nng_aio_alloc(&p->aio, pending_cb, p) != 0) {
        free(p);
        return NULL;
    }
    if (nng_ctx_open(&p->ctx, c->sock) != 0) {
        nng_aio_free(p->aio);
        free(p);
        return NULL;
    }
    return p;
}

/* Ends an asynchronous call, from its aio's callback: reports to its owner, then gives
 * the call back to the pool (after a reply) or frees it (nng_aio_reap: we are inside
 * the aio's own callback). Nothing touches p once it is back in the pool: another
 * thread may be using it already. */
static void pending_finish(rpc_pending *p, int rv, Wdm__RpcReply *reply)
{
    rpc_client *c = p->client;
    bool reuse = rv == 0;

    if (p->done != NULL) {
        p->done(p->arg, rv, reply);
    } else if (rv != 0 || p->n == 1) {
        p->batch_done(p->arg, rv, rv == 0 ? &reply : NULL, p->n);
    } else {
        Wdm__RpcReply **replies = calloc(p->n, sizeof(*replies));
        if (replies == NULL) {
            wdm__rpc_reply__free_unpacked(reply, NULL);
            rv = -ENOMEM;
        } else {
            rv = client_split(reply, p->n, replies);
        }
        p->batch_done(p->arg, rv, rv == 0 ? replies : NULL, p->n);
        free(replies);
    }
    pthread_mutex_lock(&c->mu);
    if (reuse && c->pooled < RPC_POOL_MAX) {
        p->next = c->pool;
        c->pool = p;
        c->pooled++;
        p = NULL;
    }
    if (--c->inflight == 0)
        pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
    /* A call not pooled is ours alone: its release needs neither c nor its socket open. */
    if (p != NULL) {
        nng_ctx_close(p->ctx);
        nng_aio_reap(p->aio);
        free(p);
    }
}

/* The aio callback, on an nng thread: first the send completes, then the receive. */
static void pending_cb(void *arg)
{
    rpc_pending *p = arg;
    Wdm__RpcReply *reply = NULL;
    int rv = nng_aio_result(p->aio);

    if (!p->sent) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(p->aio)); /* a failed send leaves it ours */
            pending_finish(p, client_errno(rv), NULL);
            return;
        }
        p->sent = true;
        nng_ctx_recv(p->ctx, p->aio);
        return;
    }
    if (rv != 0) {
        pending_finish(p, client_errno(rv), NULL);
        return;
    }
    rv = client_decode(nng_aio_get_msg(p->aio), &reply);
    pending_finish(p, rv, reply);
}

/* Sends msg (taken) as a call that ends with done or batch_done (the other NULL).
 * Returns 0, or -ENOMEM (msg freed, no callback). */
static int client_send(rpc_client *c, nng_msg *msg, nng_duration timeout_ms, rpc_done_fn done,
                       rpc_batch_done_fn batch_done, size_t n, void *arg)
{
    rpc_pending *p;

    if ((p = pending_get(c)) == NULL) {
        nng_msg_free(msg);
        return -ENOMEM;
    }
    p->sent = false;
    p->done = done;
    p->batch_done = batch_done;
    p->n = n;
    p->arg = arg;
    pthread_mutex_lock(&c->mu);
    c->inflight++;
    pthread_mutex_unlock(&c->mu);
    nng_aio_set_timeout(p->aio, timeout_ms);
    nng_aio_set_msg(p->aio, msg);
    nng_ctx_send(p->ctx, p->aio);
    return 0;
}

int rpc_client_call_async(rpc_client *c, const char *method, const char *key, uint32_t key_ttl_s,
                          const ProtobufCMessage *req, nng_duration timeout_ms, rpc_done_fn done,
                          void *arg)
{
    nng_msg *msg;
    int rv;

    if ((rv = client_build(method, key, key_ttl_s, req, &msg)) != 0)
        return rv;
    return client_send(c, msg, timeout_ms, done, NULL, 1, arg);
}

int rpc_client_batch_async(rpc_client *c, const ProtobufCBinaryData *reqs, size_t n,
                           nng_duration timeout_ms, rpc_batch_done_fn done, void *arg)
{
    nng_msg *msg;
    int rv;

    if (n == 0 || n > RPC_BATCH_MAX)
        return -EINVAL;
    if ((rv = client_build_packed(reqs, n, &msg)) != 0)
        return rv;
    return client_send(c, msg, timeout_ms, NULL, done, n, arg);
}

int rpc_client_call(rpc_client *c, const char *method, const char *key, uint32_t key_ttl_s,
                    const ProtobufCMessage *req, nng_duration timeout_ms, Wdm__RpcReply **reply)
{
    nng_aio *aio;
    nng_ctx ctx;
    nng_msg *msg;
    int rv;

    if ((rv = client_errno(nng_aio_alloc(&aio, NULL, NULL))) != 0)
        return rv;
    if ((rv = client_errno(nng_ctx_open(&ctx, c->sock))) != 0)
        goto fail_ctx;
    if ((rv = client_build(method, key, key_ttl_s, req, &msg)) != 0)
        goto done;
    nng_aio_set_timeout(aio, timeout_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = client_errno(nng_aio_result(aio))) != 0) {
        nng_msg_free(nng_aio_get_msg(aio));
        goto done;
    }
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = client_errno(nng_aio_result(aio))) != 0)
        goto done;
    rv = client_decode(nng_aio_get_msg(aio), reply);
done:
    nng_ctx_close(ctx);
fail_ctx:
    nng_aio_free(aio);
    return rv;
}
