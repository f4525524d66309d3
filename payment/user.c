/* payment: the user methods create_user, find_user, add_funds and pay (see payment.h). */
#include <errno.h>
#include <stdio.h>

#include "api.pb-c.h"
#include "payment.h"
#include "service.h"
#include "svc_check.h"
#include "svc_step.h"
#include "svc_script.h"

/* Writes the key of user `id` into key. */
static void user_key(char key[PAYMENT_KEY_LEN], const char *id)
{
    snprintf(key, PAYMENT_KEY_LEN, PAYMENT_USER_PREFIX "%s", id);
}

/* payment.create_user: CreateUserRequest {} -> UserIdReply. A new user with a fresh id
 * and credit 0. A retried call answers the id of its first run. */
static int create_user_prep(rpc_call *call, svc_query *q)
{
    Wdm__CreateUserRequest *req;

    req = (Wdm__CreateUserRequest *)rpc_call_unpack(call, &wdm__create_user_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    service_new_id(q->id);
    user_key(q->key, q->id);
    return svc_query_script(q, call, &payment_scripts[PAYMENT_SCRIPT_CREATE_USER], 1,
                            (const char *[]){q->key}, 1, (const char *[]){q->id});
}

static void create_user_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__UserIdReply reply = WDM__USER_ID_REPLY__INIT;
    const char *user_id;

    (void)q;
    if (svc_reply_str(call, r, 1, &user_id) != 0)
        return;
    reply.user_id = (char *)user_id;
    rpc_call_ok(call, &reply.base);
}

const svc_step payment_create_user = {create_user_prep, create_user_answer};

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
    svc_query_read(q, 2, (const char *[]){"MGET", q->key});
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

const svc_step payment_find_user = {find_user_prep, find_user_answer};

/* Sets up add_funds or pay (`script`) for a CreditChangeRequest {user_id, amount}; the
 * script answers NOT_FOUND, CONFLICT (too little credit) or INVALID_ARGUMENT (overflow)
 * itself. */
static int change_prep(rpc_call *call, svc_query *q, store_script *script)
{
    Wdm__CreditChangeRequest *req;

    req = (Wdm__CreditChangeRequest *)rpc_call_unpack(call, &wdm__credit_change_request__descriptor);
    if (req == NULL)
        return -EINVAL;
    q->req = &req->base;
    if (svc_check_id(call, "user_id", req->user_id) != 0 ||
        svc_check_amount(call, "amount", req->amount, 1) != 0)
        return -EINVAL;
    user_key(q->key, req->user_id);
    svc_fmt_int(q->num, req->amount);
    return svc_query_script(q, call, script, 1, (const char *[]){q->key}, 1,
                            (const char *[]){q->num});
}

/* payment.add_funds: CreditChangeRequest -> AddFundsReply {done: true, credit};
 * NOT_FOUND; INVALID_ARGUMENT for an amount <= 0 or a credit that would exceed 2^53. */
static int add_funds_prep(rpc_call *call, svc_query *q)
{
    return change_prep(call, q, &payment_scripts[PAYMENT_SCRIPT_ADD_FUNDS]);
}

static void add_funds_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__AddFundsReply reply = WDM__ADD_FUNDS_REPLY__INIT;

    (void)q;
    if (svc_reply_int(call, r, 1, &reply.credit) != 0)
        return;
    reply.done = true;
    rpc_call_ok(call, &reply.base);
}

const svc_step payment_add_funds = {add_funds_prep, add_funds_answer};

/* payment.pay: CreditChangeRequest -> UserReply {user_id, credit after}; NOT_FOUND;
 * CONFLICT when the credit is too low (nothing changes); INVALID_ARGUMENT for an
 * amount <= 0. */
static int pay_prep(rpc_call *call, svc_query *q)
{
    return change_prep(call, q, &payment_scripts[PAYMENT_SCRIPT_PAY]);
}

static void pay_answer(rpc_call *call, const svc_query *q, const redisReply *r)
{
    Wdm__UserReply reply = WDM__USER_REPLY__INIT;

    if (svc_reply_int(call, r, 1, &reply.credit) != 0)
        return;
    reply.user_id = ((const Wdm__CreditChangeRequest *)q->req)->user_id;
    rpc_call_ok(call, &reply.base);
}

const svc_step payment_pay = {pay_prep, pay_answer};
