"""Batches on the internal RPC (DESIGN §4): the reads one gateway loop pass has for a
service travel in one nng message, the service runs them as one Redis round trip, and
every request gets its own answer, in its own place.

Many concurrent reads of different entities, some unknown: each answer must be the one
of its own entity (an answer filed in the wrong place shows as a wrong stock or credit),
and the services' counters must show that batches were sent."""

from test_metrics import by_service, env, scrape, service_metrics, value  # noqa: F401 (fixtures)
from wdmtest import concurrently, expect_ok, uid

N = 24          # entities of each kind
ROUNDS = 12     # reads of each entity


def batch_counts(service_metrics, service):
    """(batch messages, batched requests) received so far by every replica of service."""
    pages = [scrape(u) for u in by_service(service_metrics, service).values()]
    return (sum(value(s, "wdm_rpc_messages_total", kind="batch") for s in pages),
            sum(value(s, "wdm_rpc_batched_requests_total") for s in pages))


def test_concurrent_reads_each_get_their_own_answer_in_batches(api, base_url, service_metrics):
    items = {api.new_item(price=100 + i, stock=i + 1): i for i in range(N)}
    users = {api.new_user(credit=1000 + i): i for i in range(N)}
    orders = {}
    for i, user in enumerate(list(users)[:N // 2]):
        order = api.new_order(user)
        item = list(items)[i]
        expect_ok(api.post(f"/orders/addItem/{order}/{item}/{i + 1}"))
        orders[order] = (user, item, i + 1)
    missing = [uid("missing") for _ in range(N)]
    before = {s: batch_counts(service_metrics, s) for s in ("stock", "payment", "order")}

    reqs = []
    for r in range(ROUNDS):
        reqs += [{"method": "GET", "path": f"/stock/find/{i}"} for i in items]
        reqs += [{"method": "GET", "path": f"/payment/find_user/{u}"} for u in users]
        reqs += [{"method": "GET", "path": f"/orders/find/{o}"} for o in orders]
        reqs += [{"method": "GET", "path": f"/stock/find/{m}"} for m in missing[r::ROUNDS]]
    answers = concurrently(base_url, reqs, concurrency=128)

    for rq, a in zip(reqs, answers):
        kind, _, ident = rq["path"].rpartition("/")
        assert a.status is not None, (rq, a)
        if ident in items:
            i = items[ident]
            assert a.status == 200 and a.body == {"stock": i + 1, "price": 100 + i}, (rq, a)
        elif ident in users:
            i = users[ident]
            assert a.status == 200 and a.body == {"user_id": ident, "credit": 1000 + i}, (rq, a)
        elif ident in orders:
            user, item, qty = orders[ident]
            assert a.status == 200, (rq, a)
            assert (a.body["order_id"], a.body["user_id"], a.body["items"]) == \
                (ident, user, [[item, qty]]), (rq, a)
        else:
            assert a.status == 404, (rq, a)

    after = {s: batch_counts(service_metrics, s) for s in ("stock", "payment", "order")}
    for s in ("stock", "payment", "order"):
        batches = after[s][0] - before[s][0]
        batched = after[s][1] - before[s][1]
        assert batches > 0 and batched >= 2 * batches, (s, before[s], after[s])


def test_concurrent_writes_in_batches_apply_each_once(api, base_url, service_metrics):
    """Many concurrent writes, which travel in batches (one Redis round trip and one WAIT
    for a batch): every add applies exactly once, a request sent twice with one
    Idempotency-Key applies once and both copies get the first answer, a subtract that
    would go below zero is a 409 that changes nothing, and new users each get their own
    id."""
    items = [api.new_item(price=1) for _ in range(4)]
    before = batch_counts(service_metrics, "stock")
    reqs = []
    for k in range(ROUNDS * 4):
        for i, item in enumerate(items):
            reqs.append({"path": f"/stock/add/{item}/{i + 1}"})
    twice = [{"path": f"/stock/add/{items[0]}/1000", "headers": {"Idempotency-Key": f"{uid('k')}"}}
             for _ in range(10)]
    reqs += twice + [dict(r) for r in twice]                   # each sent twice
    reqs += [{"path": f"/stock/subtract/{items[1]}/{10**9}"} for _ in range(20)]
    reqs += [{"path": "/payment/create_user"} for _ in range(40)]
    answers = concurrently(base_url, reqs, concurrency=128)

    for rq, a in zip(reqs, answers):
        assert a.status is not None, (rq, a)
        if "subtract" in rq["path"]:
            assert a.status == 409, (rq, a)
        else:
            assert a.status == 200, (rq, a)
    n = len(twice)
    start = len(reqs) - 20 - 40 - 2 * n
    first, again = answers[start:start + n], answers[start + n:start + 2 * n]
    assert [a.body for a in first] == [a.body for a in again]
    for i, item in enumerate(items):
        want = ROUNDS * 4 * (i + 1) + (1000 * n if i == 0 else 0)
        assert api.item(item)["stock"] == want, (i, api.item(item))
    users = [a.body["user_id"] for a in answers[-40:]]
    assert len(set(users)) == 40, users
    after = batch_counts(service_metrics, "stock")
    assert after[0] > before[0] and after[1] - before[1] >= 2 * (after[0] - before[0]), (before, after)
