"""The chaos suite's checks: after a fault, the data read back must be exactly what the
answers the clients saw say it is (DESIGN §7), reads made during the fault must not
contradict answers given before them, and the order Redis must agree (order paid ⇔ its
saga COMMITTED ⇔ its charge and its reservation applied)."""

import asyncio
import collections

from topo import RedisError


def short(x, n=160):
    return repr(x)[:n]


async def read_back(c, users, items, orders, limit=32):
    """GETs every user's credit, item's stock and price, and order (through the suite's
    client: retried on no answer or 5xx). Returns (credit, item, order) dicts of the
    bodies; an entity whose read did not answer 200 maps to its Op instead."""
    sem = asyncio.Semaphore(limit)

    async def get(path):
        async with sem:
            op = await c.send("GET", path, "verify")
        return op.body if op.status == 200 and isinstance(op.body, dict) else op

    credit = dict(zip(users, await asyncio.gather(*(get(f"/payment/find_user/{u}") for u in users))))
    item = dict(zip(items, await asyncio.gather(*(get(f"/stock/find/{i}") for i in items))))
    order = dict(zip(orders, await asyncio.gather(*(get(f"/orders/find/{o}") for o in orders))))
    return credit, item, order


def check_data(ledger, credit_read, item_read, order_read):
    """Exact comparison of the data read back with the ledger. Returns the problems."""
    bad = []
    credit_want, stock_want = ledger.expected()

    def tagged(entity, text):
        if entity in ledger.unanswered:
            text += " (an op on it never got an answer, so the ledger may be off)"
        bad.append(text)

    for u, body in credit_read.items():
        if not isinstance(body, dict):
            bad.append(f"user {u}: read failed: {body.brief()}")
        elif body.get("credit") != credit_want[u]:
            tagged(u, f"user {u}: credit {body.get('credit')}, the answers say {credit_want[u]}")
    for i, body in item_read.items():
        if not isinstance(body, dict):
            bad.append(f"item {i}: read failed: {body.brief()}")
            continue
        if body.get("stock") != stock_want[i]:
            tagged(i, f"item {i}: stock {body.get('stock')}, the answers say {stock_want[i]}")
        if body.get("price") != ledger.items[i][0]:
            bad.append(f"item {i}: price {body.get('price')}, created with {ledger.items[i][0]}")
    for o, body in order_read.items():
        d = ledger.orders[o]
        if not isinstance(body, dict):
            bad.append(f"order {o}: read failed: {body.brief()}")
            continue
        paid = ledger.paid(o)
        answers = [op.status for op in d["checkouts"]]
        if body.get("paid") is not paid:
            tagged(o, f"order {o}: paid={body.get('paid')!r} but its checkouts answered {answers}")
        got_lines = collections.Counter()
        for line in body.get("items") or []:
            got_lines[line[0]] += line[1]
        if got_lines != d["lines"]:
            tagged(o, f"order {o}: items {dict(got_lines)}, the acknowledged addItems say {dict(d['lines'])}")
        if body.get("total_cost") != ledger.total(o):
            tagged(o, f"order {o}: total_cost {body.get('total_cost')}, the acknowledged addItems say {ledger.total(o)}")
        if body.get("user_id") != d["user"]:
            bad.append(f"order {o}: user {body.get('user_id')}, created for {d['user']}")
    return bad


def check_answers(ledger, orders):
    """Checkout answers: 200 {order_id, paid: true} or 409 {error}; all checkouts of one
    order agree. Returns the problems."""
    bad = []
    for o in orders:
        ops = ledger.orders[o]["checkouts"]
        statuses = {op.status for op in ops}
        if 200 in statuses and 409 in statuses:
            bad.append(f"order {o}: its checkouts answered both 200 and 409: "
                       + "; ".join(op.brief() for op in ops))
        for op in ops:
            if op.status == 200 and op.body != {"order_id": o, "paid": True}:
                bad.append(f"checkout answered 200 with {short(op.body)}: {op.brief()}")
            elif op.status == 409 and not (isinstance(op.body, dict) and isinstance(op.body.get("error"), str)):
                bad.append(f"checkout answered 409 with {short(op.body)}: {op.brief()}")
    return bad


def check_reads(ledger, ops):
    """Reads made during the load must not contradict answers given before they were sent:
    an order whose checkout answered 200 reads paid, one whose every checkout answered
    409 (and none was pending) reads unpaid, acknowledged addItems are in it; credit and
    stock are never negative. Returns the problems."""
    bad = []
    for op in ops:
        if op.method != "GET" or op.status != 200 or not isinstance(op.body, dict):
            continue
        p = op.parts
        if p[:2] == ["orders", "find"] and p[2] in ledger.orders:
            d = ledger.orders[p[2]]
            before = [c for c in d["checkouts"] if c.t1 < op.t0]
            pending = [c for c in d["checkouts"] if c.t0 < op.t0 <= c.t1]
            if any(c.status == 200 for c in before) and op.body.get("paid") is not True:
                bad.append(f"stale read: {op.brief()} after its checkout answered 200")
            if before and not pending and all(c.status == 409 for c in before) and op.body.get("paid") is not False:
                bad.append(f"read {op.brief()} says paid after its checkout answered 409")
        elif p[:2] == ["payment", "find_user"]:
            if not isinstance(op.body.get("credit"), int) or op.body["credit"] < 0:
                bad.append(f"read {op.brief()}: credit not a non-negative integer")
        elif p[:2] == ["stock", "find"]:
            if not isinstance(op.body.get("stock"), int) or op.body["stock"] < 0:
                bad.append(f"read {op.brief()}: stock not a non-negative integer")
    # acknowledged addItems must show up in any later read of the order
    adds = collections.defaultdict(list)
    for op in ops:
        if op.method == "POST" and op.status == 200 and op.parts[:2] == ["orders", "addItem"]:
            adds[op.parts[2]].append(op)
    for op in ops:
        if op.method != "GET" or op.status != 200 or op.parts[:2] != ["orders", "find"]:
            continue
        o = op.parts[2]
        need = collections.Counter()
        for a in adds.get(o, ()):
            if a.t1 < op.t0:
                need[a.parts[3]] += int(a.parts[4])
        got = collections.Counter()
        for line in op.body.get("items") or []:
            got[line[0]] += line[1]
        missing = {i: q for i, q in need.items() if got[i] < q}
        if missing:
            bad.append(f"stale read: {op.brief()} lacks acknowledged addItems {missing}")
    return bad


def check_sagas(topo, ledger, orders):
    """White-box (DESIGN §7: paid ⇔ saga COMMITTED ⇔ stock and credit taken once): for
    each order, its hash in the order Redis ("order:<id>": paid, status, saga), its saga
    ("saga:<S>": state) and the participants' records ("saga:<S>:payment",
    "saga:<S>:stock": state) in the payment and stock Redis. Key names are those of
    order/saga.h, payment/charge.lua, stock/reserve.lua. Returns (problems, notes)."""
    bad, notes = [], []
    orders = [o for o in orders if ledger.orders[o]["checkouts"]]
    if not orders:
        return bad, notes
    try:
        with topo.redis("order") as r:
            oh = r.pipeline([("HMGET", f"order:{o}", "paid", "status", "saga") for o in orders])
            sagas = {o: h[2] for o, h in zip(orders, oh) if isinstance(h, list) and h[2]}
            sh = r.pipeline([("HMGET", f"saga:{s}", "state", "order", "reason") for s in sagas.values()])
        with topo.redis("payment") as r:
            ph = r.pipeline([("HGET", f"saga:{s}:payment", "state") for s in sagas.values()])
        with topo.redis("stock") as r:
            kh = r.pipeline([("HGET", f"saga:{s}:stock", "state") for s in sagas.values()])
    except (OSError, ConnectionError, RedisError) as e:
        return bad, [f"white-box saga check not done: {e}"]
    saga_state = dict(zip(sagas, sh))
    pay_state = dict(zip(sagas, ph))
    stock_state = dict(zip(sagas, kh))
    no_saga = 0
    for o, h in zip(orders, oh):
        if not isinstance(h, list):
            bad.append(f"order {o}: HMGET order:{o} failed: {h}")
            continue
        paid, status, saga = h
        if status == "checking_out":
            bad.append(f"order {o}: still checking_out (saga {saga}) after recovery")
        if not saga:
            no_saga += 1
            continue
        st = saga_state[o]
        st = st[0] if isinstance(st, list) else st
        desc = f"order {o} (paid={paid}, saga {saga}: {st}, payment {pay_state[o]}, stock {stock_state[o]})"
        if paid == "1":
            if st != "COMMITTED" or pay_state[o] != "APPLIED" or stock_state[o] != "APPLIED":
                bad.append(f"{desc}: paid, but not committed/charged/reserved")
        else:
            if st not in ("ABORTED", None):
                bad.append(f"{desc}: unpaid, but its saga is not ABORTED")
            if pay_state[o] == "APPLIED" or stock_state[o] == "APPLIED":
                bad.append(f"{desc}: unpaid, but credit or stock is still taken")
    if no_saga:
        notes.append(f"{no_saga} checked-out order(s) have no saga field in their hash "
                     f"(layout changed? white-box check incomplete)")
    return bad, notes
