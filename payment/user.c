/* payment: the user methods create_user, find_user, add_funds and pay (see payment.h). */
#include <errno.h>
#include <stdio.h>

#include "api.pb-c.h"
#include "payment.h"
#include "service.h"
#include "svc_check.h"
#include "svc_read.h"
#include "svc_script.h"

/* Writes the key of user `id` into key. */
static void user_key(char key[PAYMENT_KEY_LEN], const char *id)
{
    snprintf(key, PAYMENT_KEY_LEN, PAYMENT_USER_PREFIX "%s", id);
}

/* payment.create_user: CreateUserRequest {} -> UserIdReply. A new user with a fresh id
 * and credit 0. A retried call answers the id of its first run. */
void payment_create_user(void *state, rpc_call *call)
{
    service_worker *w = state;
    Wdm__CreateUserRequest *req;
    Wdm__UserIdReply reply = WDM__USER_ID_REPLY__INIT;
    char id[33], key[PAYMENT_KEY_LEN];
    const char *keys[] = {key}, *args[] = {id};
    store_script *script = &payment_scripts[PAYMENT_SCRIPT_CREATE_USER];
    const char *user_id;
    redisReply *r = NULL;

    req = (Wdm__CreateUserRequest *)rpc_call_unpack(call, &wdm__create_user_request__descriptor);
    if (req == NULL)
        return;
    service_new_id(id);
    user_key(key, id);
    if (svc_script_run(w, call, script, 1, keys, 1, args, &r) != 0 ||
        svc_reply_str(call, r, 1, &user_id) != 0)
        goto out;
    reply.user_id = (char *)user_id;
    rpc_call_ok(call, &reply.base);
out:
    freeReplyObject(r);
    wdm__create_user_request__free_unpacked(req, NULL);
}

/* payment.find_user: FindUserRequest {user_id} -> UserReply {user_id, credit};
 * NOT_FOUND. One MGET (an array reply, read like a script's), no write. */
static int find_user_prep(rpc_call *call, svc_query *q)
{
    Wdm__FindUserRequest *req;

    req = (Wdm__FindUserRequest *)rpc_call_unpack(call, &wdm__find_user_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_id(call, "user_id", req->user_id) != 0)
        return -EINVAL;
    user_key(q->key, req->user_id);
    svc_query_set(q, 2, (const char *[]){"MGET", q->key});
    return 0;
}

static void find_user_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__UserReply reply = WDM__USER_REPLY__INIT;

    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_NIL) {
        rpc_call_fail(call, WDM__STATUS__NOT_FOUND, "user not found");
        return;
    }
    if (svc_reply_int(call, r, 0, &reply.credit) != 0)
        return;
    reply.user_id = ((const Wdm__FindUserRequest *)q->req)->user_id;
    rpc_call_ok(call, &reply.base);
}

const svc_read payment_find_user = {find_user_prep, find_user_answer};

/* Runs add_funds or pay (`script`) for a CreditChangeRequest {user_id, amount}.
 * Returns 0 with the credit after it in *credit, and *req (the caller's: free with
 * wdm__credit_change_request__free_unpacked); or answers the call (INVALID_ARGUMENT,
 * NOT_FOUND, CONFLICT, UNAVAILABLE) and returns a negative error with *req NULL. */
static int payment_change(service_worker *w, rpc_call *call, store_script *script,
                          Wdm__CreditChangeRequest **req, int64_t *credit)
{
    char key[PAYMENT_KEY_LEN], amount[SVC_INT_LEN];
    const char *keys[] = {key}, *args[] = {amount};
    redisReply *r = NULL;
    int rv;

    *req =
        (Wdm__CreditChangeRequest *)rpc_call_unpack(call, &wdm__credit_change_request__descriptor);
    if (*req == NULL)
        return -EINVAL;
    if ((rv = svc_check_id(call, "user_id", (*req)->user_id)) != 0 ||
        (rv = svc_check_amount(call, "amount", (*req)->amount, 1)) != 0)
        goto fail;
    user_key(key, (*req)->user_id);
    svc_fmt_int(amount, (*req)->amount);
    if ((rv = svc_script_run(w, call, script, 1, keys, 1, args, &r)) != 0 ||
        (rv = svc_reply_int(call, r, 1, credit)) != 0)
        goto fail;
    freeReplyObject(r);
    return 0;
fail:
    freeReplyObject(r);
    wdm__credit_change_request__free_unpacked(*req, NULL);
    *req = NULL;
    return rv;
}

/* payment.add_funds: CreditChangeRequest -> AddFundsReply {done: true, credit};
 * NOT_FOUND; INVALID_ARGUMENT for an amount <= 0 or a credit that would exceed 2^53. */
void payment_add_funds(void *state, rpc_call *call)
{
    Wdm__CreditChangeRequest *req;
    Wdm__AddFundsReply reply = WDM__ADD_FUNDS_REPLY__INIT;

    if (payment_change(state, call, &payment_scripts[PAYMENT_SCRIPT_ADD_FUNDS], &req,
                       &reply.credit) != 0)
        return;
    reply.done = true;
    rpc_call_ok(call, &reply.base);
    wdm__credit_change_request__free_unpacked(req, NULL);
}

/* payment.pay: CreditChangeRequest -> UserReply {user_id, credit after}; NOT_FOUND;
 * CONFLICT when the credit is too low (nothing changes); INVALID_ARGUMENT for an
 * amount <= 0. */
void payment_pay(void *state, rpc_call *call)
{
    Wdm__CreditChangeRequest *req;
    Wdm__UserReply reply = WDM__USER_REPLY__INIT;

    if (payment_change(state, call, &payment_scripts[PAYMENT_SCRIPT_PAY], &req, &reply.credit) != 0)
        return;
    reply.user_id = req->user_id;
    rpc_call_ok(call, &reply.base);
    wdm__credit_change_request__free_unpacked(req, NULL);
}
