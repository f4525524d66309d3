#!/usr/bin/env python3
"""The consistency scenario against a running system (DESIGN §3, §5, §7).

One item with `--stock` units at price 1; `--users` users (default: as many as orders)
with credit 1 each; `--orders` orders of that item (quantity 1), each by a random user,
so some users have several orders. Then every order is checked out at once over
`--concurrency` connections, and the data is read back and checked:

  - every answer is 200 {"order_id", "paid": true} or 409 {"error"} (no 5xx, no hang);
  - exactly min(stock, users with an order) answers are 200, the rest 409: a user's one
    unit of credit buys one order, an item sells out exactly, and a checkout never fails
    while both its credit and its stock are there (money first, then stock: DESIGN §5);
  - the stock left is stock - #200;
  - Σ credit is users - #200, and every user's credit is 1 - (its orders answered 200);
  - an order is paid iff its checkout answered 200, and its lines and total are as created.

Ids are created through the API (no batch_init), so it runs beside anything else.

    bench/consistency.py [--url http://127.0.0.1:8000] [--orders 1000] [--stock 100]
                         [--concurrency 200] [--users N] [--seed S]

Prints the answer counts, one PASS/FAIL line per check (with evidence for a FAIL) and
the checkout time; exits 1 when a check fails, 2 when the setup or the read-back fails.

The system tests import this file (tests/system/test_checkout.py): `run()` is the
scenario, `Report` its outcome.
"""

import argparse
import asyncio
import collections
import json
import random
import sys
import time

import aiohttp

REQUEST_TIMEOUT = 120   # seconds for one answer (the gateway gives a checkout 60 s)
EVIDENCE = 5            # examples shown per failed check


class ScenarioError(Exception):
    """The scenario could not be set up or read back (so nothing could be checked)."""


class Check:
    def __init__(self, name, ok, evidence=()):
        self.name, self.ok, self.evidence = name, bool(ok), list(evidence)

    def __repr__(self):
        return f"<{'PASS' if self.ok else 'FAIL'} {self.name}>"


class Report:
    """What one run saw. `answers[order] = (status, body)`: status None when no answer came
    (then body says why); body is the decoded JSON when it was JSON, else the text."""

    def __init__(self, url, orders, stock, users, concurrency):
        self.url, self.n_orders, self.stock, self.n_users = url, orders, stock, users
        self.concurrency = concurrency
        self.item = None
        self.users = []                  # user ids
        self.order_user = {}             # order id -> user id
        self.answers = {}                # order id -> (status, body)
        self.final_stock = None
        self.credits = {}                # user id -> credit read back
        self.found = {}                  # order id -> GET /orders/find body
        self.checks = []
        self.setup_seconds = 0.0
        self.checkout_seconds = 0.0
        self.expected_ok = 0

    @property
    def ok(self):
        return bool(self.checks) and all(c.ok for c in self.checks)

    def counts(self):
        return collections.Counter(s for s, _ in self.answers.values())

    def text(self):
        c = self.counts()
        rate = len(self.answers) / self.checkout_seconds if self.checkout_seconds > 0 else 0.0
        out = [f"consistency: {self.url} item {self.item}: {self.n_orders} orders, stock {self.stock}, "
               f"{self.n_users} users ({len(set(self.order_user.values()))} with orders) with credit 1, "
               f"{self.concurrency} connections",
               "answers: " + ", ".join(f"{'no answer' if s is None else s}: {n}"
                                       for s, n in sorted(c.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))),
               f"expected: {self.expected_ok} x 200, {self.n_orders - self.expected_ok} x 409"]
        for ch in self.checks:
            out.append(f"{'PASS' if ch.ok else 'FAIL'}  {ch.name}")
            if not ch.ok:
                out.extend(f"        {e}" for e in ch.evidence[:EVIDENCE])
                if len(ch.evidence) > EVIDENCE:
                    out.append(f"        ... and {len(ch.evidence) - EVIDENCE} more")
        out.append(f"setup {self.setup_seconds:.2f}s; checkout of {len(self.answers)} orders "
                   f"{self.checkout_seconds:.2f}s = {rate:.0f} checkouts/s")
        out.append("RESULT: " + ("PASS" if self.ok else "FAIL"))
        return "\n".join(out)


def decode_body(raw):
    """An answer's body: its JSON when it parses, else its text."""
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Client:
    def __init__(self, session, url):
        self.s, self.url = session, url.rstrip("/")

    async def call(self, method, path, headers=None):
        """(status, body); status None with the exception text when no answer came."""
        try:
            async with self.s.request(method, self.url + path, headers=headers) as r:
                return r.status, decode_body(await r.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            return None, f"{type(e).__name__}: {e}"

    async def must(self, method, path, key=None):
        """A setup or read-back request that has to succeed: returns body[key] (or body)."""
        status, body = await self.call(method, path)
        if status != 200 or not isinstance(body, dict) or (key is not None and key not in body):
            raise ScenarioError(f"{method} {path}: {status} {str(body)[:300]!r}")
        return body if key is None else body[key]


async def _gather_all(coros):
    """Runs every coroutine; returns their results or raises the first ScenarioError
    after all have finished (so nothing is left running)."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


async def _setup(c, rep, rng):
    rep.item = await c.must("POST", "/stock/item/create/1", "item_id")
    if rep.stock:
        await c.must("POST", f"/stock/add/{rep.item}/{rep.stock}")

    async def user():
        u = await c.must("POST", "/payment/create_user", "user_id")
        await c.must("POST", f"/payment/add_funds/{u}/1")
        return u

    rep.users = await _gather_all(user() for _ in range(rep.n_users))
    if len(set(rep.users)) != len(rep.users):
        raise ScenarioError("create_user gave the same user id twice")
    owners = [rng.choice(rep.users) for _ in range(rep.n_orders)]

    async def order(u):
        o = await c.must("POST", f"/orders/create/{u}", "order_id")
        await c.must("POST", f"/orders/addItem/{o}/{rep.item}/1")
        return o

    ids = await _gather_all(order(u) for u in owners)
    if len(set(ids)) != len(ids):
        raise ScenarioError("orders/create gave the same order id twice")
    rep.order_user = dict(zip(ids, owners))


async def _checkout_all(c, rep):
    start = asyncio.Event()

    async def one(o):
        await start.wait()
        return o, await c.call("POST", f"/orders/checkout/{o}")

    tasks = [asyncio.ensure_future(one(o)) for o in rep.order_user]
    await asyncio.sleep(0)      # every task is waiting at the start line
    t0 = time.monotonic()
    start.set()
    results = await asyncio.gather(*tasks)
    rep.checkout_seconds = time.monotonic() - t0
    rep.answers = dict(results)


async def _read_back(c, rep):
    item = await c.must("GET", f"/stock/find/{rep.item}")
    rep.final_stock = item.get("stock")

    async def credit(u):
        return u, await c.must("GET", f"/payment/find_user/{u}", "credit")

    async def find(o):
        return o, await c.must("GET", f"/orders/find/{o}")

    rep.credits = dict(await _gather_all(credit(u) for u in rep.users))
    rep.found = dict(await _gather_all(find(o) for o in rep.order_user))


def _short(body):
    return json.dumps(body)[:200] if not isinstance(body, str) else repr(body[:200])


def _check(rep):
    ans = rep.answers
    ok_orders = {o for o, (s, _) in ans.items() if s == 200}
    n_ok = len(ok_orders)
    n_409 = sum(1 for s, _ in ans.values() if s == 409)
    owners = set(rep.order_user.values())
    rep.expected_ok = min(rep.stock, len(owners))
    checks = rep.checks

    bad = [f"checkout {o}: {s} {_short(b)}" for o, (s, b) in ans.items() if s not in (200, 409)]
    checks.append(Check("every answer is 200 or 409 (no 5xx, none missing)", not bad, bad))

    bad = []
    for o, (s, b) in ans.items():
        if s == 200 and b != {"order_id": o, "paid": True}:
            bad.append(f"checkout {o}: 200 {_short(b)} (want {{\"order_id\": {o!r}, \"paid\": true}})")
        elif s == 409 and not (isinstance(b, dict) and set(b) == {"error"} and isinstance(b["error"], str)):
            bad.append(f"checkout {o}: 409 {_short(b)} (want {{\"error\": \"...\"}})")
    checks.append(Check("answer bodies: 200 {order_id, paid: true}, 409 {error}", not bad, bad))

    checks.append(Check(f"exactly {rep.expected_ok} answers 200 (got {n_ok})", n_ok == rep.expected_ok,
                        [f"200 for {n_ok} of {len(ans)} orders; stock {rep.stock}, {len(owners)} users with orders"]))
    want_409 = len(ans) - rep.expected_ok
    checks.append(Check(f"exactly {want_409} answers 409 (got {n_409})", n_409 == want_409,
                        [f"409 for {n_409} of {len(ans)} orders"]))

    want = rep.stock - n_ok
    checks.append(Check(f"stock left = stock - #200 = {want} (read {rep.final_stock})", rep.final_stock == want,
                        [f"GET /stock/find/{rep.item}: stock {rep.final_stock}, want {rep.stock} - {n_ok}"]))

    total = sum(rep.credits.values())
    want = len(rep.users) - n_ok
    checks.append(Check(f"sum of credit = users - #200 = {want} (read {total})", total == want,
                        [f"Σ credit over {len(rep.users)} users is {total}, want {want}"]))

    per_user = collections.defaultdict(list)
    for o, u in rep.order_user.items():
        per_user[u].append(o)
    bad = []
    for u in rep.users:
        paid_here = sum(1 for o in per_user[u] if o in ok_orders)
        if rep.credits[u] != 1 - paid_here or rep.credits[u] < 0:
            bad.append(f"user {u}: credit {rep.credits[u]}, want 1 - {paid_here}; its orders: "
                       + ", ".join(f"{o}->{ans[o][0]}" for o in per_user[u]))
    checks.append(Check("every user's credit = 1 - (its orders answered 200), none negative", not bad, bad))

    bad = []
    for o, u in rep.order_user.items():
        f = rep.found[o]
        s = ans[o][0]
        if f.get("paid") is not (s == 200):
            bad.append(f"order {o}: checkout answered {s} {_short(ans[o][1])} but find says paid={f.get('paid')!r}")
    checks.append(Check("every order is paid iff its checkout answered 200", not bad, bad))

    bad = []
    for o, u in rep.order_user.items():
        f = rep.found[o]
        want_f = {"order_id": o, "user_id": u, "items": [[rep.item, 1]], "total_cost": 1}
        got = {k: f.get(k) for k in want_f}
        if got != want_f:
            bad.append(f"GET /orders/find/{o}: {_short(f)}, want {_short(want_f)}")
    checks.append(Check("every order keeps its user, lines and total", not bad, bad))


async def run(url, orders=1000, stock=100, concurrency=200, users=None, seed=None):
    """Runs the scenario once with fresh ids; returns a Report (report.ok, report.text()).
    Raises ScenarioError when the setup or the read-back fails."""
    if users is None:
        users = orders
    if orders < 1 or users < 1 or stock < 0 or concurrency < 1:
        raise ValueError("orders, users, concurrency must be >= 1 and stock >= 0")
    rep = Report(url, orders, stock, users, concurrency)
    rng = random.Random(seed)
    conn = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        c = _Client(session, url)
        t0 = time.monotonic()
        await _setup(c, rep, rng)
        rep.setup_seconds = time.monotonic() - t0
        await _checkout_all(c, rep)
        await _read_back(c, rep)
    _check(rep)
    return rep


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    ap.add_argument("--orders", type=int, default=1000, help="orders checked out at once")
    ap.add_argument("--stock", type=int, default=100, help="units of the one item")
    ap.add_argument("--concurrency", type=int, default=200, help="connections in flight")
    ap.add_argument("--users", type=int, default=None, help="users with credit 1 (default: --orders)")
    ap.add_argument("--seed", type=int, default=None, help="seed for assigning orders to users")
    a = ap.parse_args(argv)
    try:
        rep = asyncio.run(run(a.url, a.orders, a.stock, a.concurrency, a.users, a.seed))
    except ScenarioError as e:
        print(f"consistency: setup or read-back failed: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        ap.error(str(e))
    print(rep.text())
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
