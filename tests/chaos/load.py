"""The chaos suite's clients and load: a client that never gives up on a write (same
Idempotency-Key until a final answer), a ledger of every answer, and the workloads that
run during a fault (the consistency scenario of bench/consistency.py, a stream of mixed
operations, and a probe checkout stream that measures recovery)."""

import asyncio
import collections
import random
import sys
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import consistency as bench  # noqa: E402  bench/consistency.py (the scenario, reused as is)

ATTEMPT_TIMEOUT = 70     # s, one attempt (the gateway gives a checkout 60 s)
ANSWER_DEADLINE = 150    # s; a request without a final answer by then "never came"
PROBE_GOOD_S = 1.0       # a probe checkout answered 200 within this is "normal"


def now():
    return time.monotonic()


class Op:
    """One logical request: all its attempts (same Idempotency-Key) and its final answer."""

    __slots__ = ("method", "path", "key", "fault", "tag", "t0", "t1", "status", "body",
                 "drops", "errors5xx", "attempts")

    def __init__(self, method, path, key, fault, tag):
        self.method, self.path, self.key, self.fault, self.tag = method, path, key, fault, tag
        self.t0 = self.t1 = None
        self.status = None       # final status; None: never answered (see attempts)
        self.body = None
        self.drops = 0           # attempts that got no answer (reset, refused, timeout)
        self.errors5xx = []      # statuses of attempts answered 5xx
        self.attempts = []       # (seconds after t0, what happened) of every failed attempt

    @property
    def parts(self):
        return self.path.strip("/").split("/")

    @property
    def is_checkout(self):
        return self.path.startswith("/orders/checkout/")

    @property
    def done(self):
        return self.t1 is not None

    def brief(self):
        fails = "; ".join(f"+{t:.2f}s {w}" for t, w in self.attempts[:4])
        return (f"{self.method} {self.path} key={self.key} -> {self.status} {str(self.body)[:120]!r}"
                f" after {((self.t1 or now()) - self.t0):.2f}s" + (f" [failed attempts: {fails}]" if fails else ""))


class Client:
    """Sends requests through one aiohttp session and records every Op in `ops`.

    A POST carries an Idempotency-Key (fresh per logical request). An attempt that gets no
    answer (connection refused/reset, timeout) or a 5xx is sent again with the same key,
    after a short backoff, until a non-5xx answer comes or ANSWER_DEADLINE passes."""

    def __init__(self, base, session):
        self.base = base.rstrip("/")
        self.s = session
        self.ops = []
        self.fault = "setup"           # the phase new ops belong to
        self.inflight = set()          # ops without a final answer yet

    async def send(self, method, path, tag="", key=None):
        if method == "POST" and key is None:
            key = uuid.uuid4().hex
        op = Op(method, path, key, self.fault, tag)
        self.ops.append(op)
        self.inflight.add(op)
        headers = {"Idempotency-Key": key} if key else None
        tmo = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=ATTEMPT_TIMEOUT)
        op.t0 = now()
        delay = 0.05
        try:
            while True:
                try:
                    async with self.s.request(method, self.base + path, headers=headers, timeout=tmo) as r:
                        status, body = r.status, bench.decode_body(await r.read())
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                    op.drops += 1
                    op.attempts.append((now() - op.t0, f"{type(e).__name__}: {str(e)[:100]}"))
                else:
                    if status < 500:
                        op.status, op.body = status, body
                        break
                    op.errors5xx.append(status)
                    op.attempts.append((now() - op.t0, f"{status} {str(body)[:100]}"))
                if now() - op.t0 > ANSWER_DEADLINE:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
        finally:
            op.t1 = now()
            self.inflight.discard(op)
        return op

    async def must(self, method, path, field=None, tag=""):
        """A request that must answer 200 (setup): returns body[field] (or the body)."""
        op = await self.send(method, path, tag)
        if op.status != 200 or not isinstance(op.body, dict) or (field and field not in op.body):
            raise bench.ScenarioError(f"{op.brief()}")
        return op.body[field] if field else op.body

    def checkouts_inflight(self):
        return sum(1 for op in self.inflight if op.is_checkout)


class BenchClient:
    """bench/consistency.py's client interface (call, must) on top of Client, so that the
    scenario's requests are keyed, retried and recorded like every other."""

    def __init__(self, client, tag):
        self.c, self.tag = client, tag

    async def call(self, method, path, headers=None):
        op = await self.c.send(method, path, self.tag)
        return op.status, (op.body if op.status is not None else "no answer: " + op.brief())

    async def must(self, method, path, key=None):
        return await self.c.must(method, path, key, self.tag)


# ---- what the ledger says the data must be ----

class Ledger:
    """Folds the final answers of every Op into what the data must be. Every entity the
    suite made is here, with the ops that touched it."""

    def __init__(self):
        self.users = {}          # user -> expected credit (from answered ops)
        self.items = {}          # item -> [price, expected stock before checkouts]
        self.orders = {}         # order -> {"user", "lines": Counter, "checkouts": [Op], "fault"}
        self.unanswered = set()  # entities touched by an op that never got an answer
        self.seen = 0            # ops folded so far

    def fold(self, ops):
        """Folds the ops after the ones already folded (in the order they were sent)."""
        for op in ops[self.seen:]:
            self._fold(op)
        self.seen = len(ops)

    def _fold(self, op):
        p = op.parts
        if op.method != "POST":
            return
        if op.status is None:
            if len(p) >= 3:
                self.unanswered.add(p[2])
            if p[:2] == ["orders", "addItem"]:
                self.unanswered.add(p[3])
            return
        ok = op.status == 200
        body = op.body if isinstance(op.body, dict) else {}
        if p[:2] == ["payment", "create_user"] and ok:
            self.users[body["user_id"]] = 0
        elif p[:2] == ["payment", "add_funds"] and ok:
            self.users[p[2]] += int(p[3])
        elif p[:2] == ["payment", "pay"] and ok:
            self.users[p[2]] -= int(p[3])
        elif p[:3] == ["stock", "item", "create"] and ok:
            self.items[body["item_id"]] = [int(p[3]), 0]
        elif p[:2] == ["stock", "add"] and ok:
            self.items[p[2]][1] += int(p[3])
        elif p[:2] == ["stock", "subtract"] and ok:
            self.items[p[2]][1] -= int(p[3])
        elif p[:2] == ["orders", "create"] and ok:
            self.orders[body["order_id"]] = {"user": p[2], "lines": collections.Counter(),
                                             "checkouts": [], "fault": op.fault}
        elif p[:2] == ["orders", "addItem"] and ok:
            self.orders[p[2]]["lines"][p[3]] += int(p[4])
        elif p[:2] == ["orders", "checkout"] and p[2] in self.orders:
            self.orders[p[2]]["checkouts"].append(op)

    def total(self, order):
        return sum(self.items[i][0] * q for i, q in self.orders[order]["lines"].items())

    def paid(self, order):
        """True when a checkout of the order answered 200."""
        return any(op.status == 200 for op in self.orders[order]["checkouts"])

    def expected(self):
        """(credit by user, stock by item) that the data must show now."""
        credit = dict(self.users)
        stock = {i: s for i, (_, s) in self.items.items()}
        for o, d in self.orders.items():
            if self.paid(o):
                credit[d["user"]] -= self.total(o)
                for i, q in d["lines"].items():
                    stock[i] -= q
        return credit, stock


# ---- workloads ----

class Pools:
    """The long-lived entities of the mixed stream and of the probes."""

    def __init__(self):
        self.users = []        # mixed-stream users
        self.items = []        # mixed-stream items
        self.probe_orders = collections.deque()   # created, never checked out yet


async def make_pools(c, pools, n_users, n_items, rng):
    async def user():
        return await c.must("POST", "/payment/create_user", "user_id", "mixed")

    async def item(price):
        return await c.must("POST", f"/stock/item/create/{price}", "item_id", "mixed")

    pools.users = list(await asyncio.gather(*(user() for _ in range(n_users))))
    pools.items = list(await asyncio.gather(*(item(rng.randint(1, 6)) for _ in range(n_items))))
    pools.probe_user = await user()
    pools.probe_item = await item(1)
    await c.must("POST", f"/payment/add_funds/{pools.probe_user}/1000000000", tag="probe")
    await c.must("POST", f"/stock/add/{pools.probe_item}/1000000000", tag="probe")


async def top_up(c, pools, ledger, credit_target, stock_target):
    """Brings the mixed users' credit and items' stock back up to the targets (from what
    the ledger says they hold), with ordinary recorded writes."""
    ledger.fold(c.ops)
    credit, stock = ledger.expected()
    tasks = []
    for u in pools.users:
        if credit[u] < credit_target:
            tasks.append(c.must("POST", f"/payment/add_funds/{u}/{credit_target - credit[u]}", tag="mixed"))
    for i in pools.items:
        if stock[i] < stock_target:
            tasks.append(c.must("POST", f"/stock/add/{i}/{stock_target - stock[i]}", tag="mixed"))
    await asyncio.gather(*tasks)


async def make_probe_orders(c, pools, n):
    async def one():
        o = await c.must("POST", f"/orders/create/{pools.probe_user}", "order_id", "probe")
        await c.must("POST", f"/orders/addItem/{o}/{pools.probe_item}/1", tag="probe")
        return o

    sem = asyncio.Semaphore(32)

    async def limited():
        async with sem:
            return await one()

    pools.probe_orders.extend(await asyncio.gather(*(limited() for _ in range(n))))


class Probe:
    """Checks out one pre-made order (ample credit and stock) every `interval` seconds,
    without waiting for the previous one, and keeps (start, end, status) of each."""

    def __init__(self, c, pools, interval):
        self.c, self.pools, self.interval = c, pools, interval
        self.ops = []

    async def run(self, stop):
        tasks = []
        while not stop.is_set():
            if self.pools.probe_orders:
                o = self.pools.probe_orders.popleft()
                t = asyncio.ensure_future(self.c.send("POST", f"/orders/checkout/{o}", "probe"))
                tasks.append(t)
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
        self.ops = list(await asyncio.gather(*tasks))


class Mixed:
    """The stream of mixed operations: add_funds, pay, stock add/subtract, orders made of
    a few addItems and checked out (sometimes twice at once, sometimes with an addItem
    racing the checkout), and reads. `workers` loops, each pausing `pause` seconds
    (uniform in the range) between operations."""

    def __init__(self, c, pools, rng, workers, pause):
        self.c, self.pools, self.rng = c, pools, rng
        self.workers, self.pause = workers, pause
        self.recent_orders = collections.deque(maxlen=200)
        self.unexpected = []     # answers the stream did not expect (evidence)

    def _note(self, op, want):
        if op.status is not None and op.status not in want:
            self.unexpected.append(op.brief())

    async def run(self, stop):
        await asyncio.gather(*(self._worker(stop, random.Random(self.rng.random())) for _ in range(self.workers)))

    # The single writes of the stream: (share of the operations, path, answers it may give).
    WRITES = (
        (0.14, lambda rng, P: f"/payment/add_funds/{rng.choice(P.users)}/{rng.randint(1, 20)}", (200,)),
        (0.12, lambda rng, P: f"/payment/pay/{rng.choice(P.users)}/{rng.randint(1, 20)}", (200, 409)),
        (0.08, lambda rng, P: f"/stock/add/{rng.choice(P.items)}/{rng.randint(1, 10)}", (200,)),
        (0.08, lambda rng, P: f"/stock/subtract/{rng.choice(P.items)}/{rng.randint(1, 5)}", (200, 409)),
    )
    ORDERS = 0.43    # share of orders made and checked out; the rest are reads

    async def _worker(self, stop, rng):
        while not stop.is_set():
            r = rng.random()
            for share, path, want in self.WRITES:
                if r < share:
                    self._note(await self.c.send("POST", path(rng, self.pools), "mixed"), want)
                    break
                r -= share
            else:
                await (self._order(rng) if r < self.ORDERS else self._read(rng))
            await asyncio.sleep(rng.uniform(*self.pause))

    async def _order(self, rng):
        c, P = self.c, self.pools
        op = await c.send("POST", f"/orders/create/{rng.choice(P.users)}", "mixed")
        self._note(op, (200,))
        if op.status != 200:
            return
        o = op.body["order_id"]
        for _ in range(rng.randint(1, 3)):
            op = await c.send("POST", f"/orders/addItem/{o}/{rng.choice(P.items)}/{rng.randint(1, 3)}", "mixed")
            self._note(op, (200,))
        jobs = [c.send("POST", f"/orders/checkout/{o}", "mixed")]
        if rng.random() < 0.1:      # the same order twice at once: one saga, one outcome
            jobs.append(c.send("POST", f"/orders/checkout/{o}", "mixed"))
        if rng.random() < 0.15:     # an addItem racing the checkout: 200 before it, else 409
            async def late(delay):
                await asyncio.sleep(delay)
                op = await c.send("POST", f"/orders/addItem/{o}/{rng.choice(P.items)}/1", "mixed")
                self._note(op, (200, 409))
            jobs.append(late(rng.uniform(0, 0.01)))
        outs = await asyncio.gather(*jobs)
        for op in outs:
            if isinstance(op, Op):
                self._note(op, (200, 409))
        self.recent_orders.append(o)

    async def _read(self, rng):
        c, P = self.c, self.pools
        r = rng.random()
        if r < 0.4 and self.recent_orders:
            op = await c.send("GET", f"/orders/find/{rng.choice(self.recent_orders)}", "mixed")
        elif r < 0.7:
            op = await c.send("GET", f"/payment/find_user/{rng.choice(P.users)}", "mixed")
        else:
            op = await c.send("GET", f"/stock/find/{rng.choice(P.items)}", "mixed")
        self._note(op, (200,))


class ConsistencyRound:
    """One run of bench/consistency.py's scenario (one item with limited stock, users with
    credit 1, more orders than stock, every order checked out at once), set up ahead and
    fired when told. Its requests go through the suite's client."""

    def __init__(self, c, name, orders, stock, seed):
        self.bc = BenchClient(c, "consistency")
        self.name = name
        self.rep = bench.Report(c.base, orders, stock, orders, orders)
        self.rng = random.Random(seed)
        self.fired_at = None

    async def setup(self):
        await bench._setup(self.bc, self.rep, self.rng)

    async def fire(self):
        self.fired_at = now()
        await bench._checkout_all(self.bc, self.rep)

    async def check(self):
        """Reads back and runs the scenario's own checks; returns the failed ones."""
        await bench._read_back(self.bc, self.rep)
        bench._check(self.rep)
        return [ch for ch in self.rep.checks if not ch.ok]


class SagaSampler:
    """Reads the order Redis's in-flight index (sagas:inflight, on the master Sentinel
    names) every `interval` seconds; keeps (time, set of saga ids, or None when it could
    not be read)."""

    def __init__(self, topo, interval=0.25):
        self.topo, self.interval = topo, interval
        self.samples = []

    def _read(self):
        with self.topo.redis("order", timeout=1.0) as r:
            return frozenset(r.call("ZRANGE", "sagas:inflight", 0, -1))

    async def run(self, stop):
        from topo import RedisError
        while not stop.is_set():
            t = now()
            try:
                ids = await asyncio.to_thread(self._read)
            except (OSError, ConnectionError, RedisError):
                ids = None
            self.samples.append((t, ids))
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    def latest(self):
        return next(((t, s) for t, s in reversed(self.samples) if s is not None), None)

    def settled_after(self, t_kill, t_recovered):
        """Seconds from t_kill until every saga seen in flight from the kill until
        t_recovered (the end of the samples when None; at least the first sample read at
        or after the kill) had left the index; None if that did not happen."""
        seen = [(t, s) for t, s in self.samples if t >= t_kill and s is not None]
        if not seen:
            return None
        horizon = max(t_recovered or seen[-1][0], seen[0][0])
        base = frozenset().union(*(s for t, s in seen if t <= horizon))
        for t, s in seen:
            if t >= horizon and not (base & s):
                return t - t_kill
        return None

    def at_kill(self, t_kill):
        base = next((s for t, s in self.samples if t >= t_kill and s is not None), None)
        return None if base is None else len(base)
