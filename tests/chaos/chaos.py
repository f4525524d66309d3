#!/usr/bin/env python3
"""The chaos suite (tests/chaos/README.md): while the consistency scenario and a stream
of mixed operations run, kill -9 one process of the topology, bring it back with
infra/local/up, and check that every answer the clients saw matches the data exactly,
that no checkout was answered 5xx or left without an answer, and that no saga stays in
flight. One fault after another on the same topology; a table of the results.

    tests/chaos/run [--short] [--only NAME,...] [--record FILE] [--dir DIR] ...
"""

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402
import verify  # noqa: E402
from load import now  # noqa: E402
from topo import RedisError, Topology  # noqa: E402  (puts tests/ on the path)
from proclib import IGNORED_TERM_RE  # noqa: E402


class Skip(Exception):
    pass


# ---- the faults ----

class Fault:
    """name: the table's row; pick(topo) -> the process name to kill, or a list of names
    (raises Skip). outage_past_deadline: the victims stay down until the sagas waiting
    for them are past their deadline, so those abort (409) instead of committing."""

    def __init__(self, name, what, pick, cluster=False, outage_past_deadline=False):
        self.name, self.what, self.pick, self.cluster = name, what, pick, cluster
        self.outage_past_deadline = outage_past_deadline


def redis_master(group):
    def pick(topo):
        return topo.master_name(group)[0]
    return pick


def first_of(pattern, need=1, why=""):
    def pick(topo):
        names = topo.names_like(pattern)
        if len(names) < need:
            raise Skip(why or f"no process matches {pattern}")
        return names[0]
    return pick


def every_of(pattern, need=2):
    def pick(topo):
        names = topo.names_like(pattern)
        if len(names) < need:
            raise Skip(f"expected at least {need} processes matching {pattern}, found {names}")
        return names
    return pick


def gateway(topo):
    names = topo.gateways()
    if len(names) < 2:
        raise Skip(f"needs two gateway processes (WDM_GATEWAYS), found {names}")
    return names[0]


def rabbit_single(topo):
    nodes = topo.rabbit_nodes()
    if len(nodes) != 1:
        raise Skip(f"expected one RabbitMQ node, found {nodes}")
    return nodes[0]


def rabbit_cluster(topo):
    nodes = topo.rabbit_nodes()
    if len(nodes) < 3:
        raise Skip(f"expected three RabbitMQ nodes, found {nodes}")
    return nodes[0]


FAULTS = [
    Fault("stock-replica", "one stock replica", first_of(r"stock-\d+", 2)),
    Fault("payment-replica", "one payment replica", first_of(r"payment-\d+", 2)),
    Fault("order-replica", "one order replica (its sagas are taken over after the lease)",
          first_of(r"order-\d+", 2)),
    Fault("sentinel", "one Sentinel", first_of(r"sentinel-\d+")),
    Fault("redis-stock-master", "the stock Redis master", redis_master("stock")),
    Fault("redis-payment-master", "the payment Redis master", redis_master("payment")),
    Fault("redis-order-master", "the order Redis master", redis_master("order")),
    Fault("rabbitmq", "the RabbitMQ node (single node: killed and restarted)", rabbit_single),
    Fault("gateway", "one gateway process (its clients retry with the same key)", gateway),
    Fault("stock-outage", "every stock replica, down past the saga deadline: the sagas "
          "waiting for a reservation abort through compensation", every_of(r"stock-\d+"),
          outage_past_deadline=True),
    Fault("rabbitmq-cluster-node", "one node of a 3-node RabbitMQ cluster", rabbit_cluster, cluster=True),
]


def lease_ms(topo):
    return int(topo.env.get("WDM_SAGA_LEASE_MS") or 10000)


def deadline_ms(topo):
    return int(topo.env.get("WDM_SAGA_DEADLINE_MS") or 30000)


class Profile:
    """How long and how hard. short: CI (a few minutes); full: on demand."""

    def __init__(self, short):
        self.short = short
        self.pre = 2.0 if short else 3.0          # load before the kill, s
        self.post = 5.0 if short else 10.0        # load after the kill, before the restart
        self.tail = 2.0 if short else 3.0         # load after the restart is done
        self.cons_orders = 60 if short else 150   # per consistency round (3 per fault)
        self.cons_stock = 20 if short else 50
        self.workers = 5 if short else 8          # mixed-stream loops
        self.pause = (0.03, 0.12)                 # between one loop's operations, s
        self.probe_interval = 0.2                 # s between probe checkouts
        self.mixed_users = 12
        self.mixed_items = 8
        self.credit_target = 150                  # mixed users' credit at each fault's start
        self.stock_target = 80                    # mixed items' stock at each fault's start


# ---- one fault ----

class Result:
    def __init__(self, fault):
        self.fault = fault.name
        self.what = fault.what
        self.victim = None
        self.skipped = None
        self.pid = None
        self.inflight_at_kill = None
        self.answers = collections.Counter()       # checkout final answers in this fault
        self.checkout_5xx = 0                      # checkout ops with a 5xx attempt
        self.other_5xx = 0
        self.statuses_5xx = collections.Counter()
        self.dropped = 0                           # ops with an attempt without answer
        self.never = 0                             # ops without a final answer
        self.inconsistencies = []
        self.problems = []
        self.notes = []
        self.recovery = None                       # s from the kill (see recovery())
        self.recovery_note = ""
        self.restart_blip = None
        self.inflight_resolved = None              # s from the kill until the last
                                                   # checkout in flight at the kill answered
        self.sagas_at_kill = None                  # sagas in flight at the kill
        self.settled = None                        # s from the kill until all of those ended
        self.settled_after_stop = None
        self.up_seconds = None
        self.saga_source = ""
        self.rounds = []
        self.probes = []                           # (start - kill, latency, status)

    @property
    def ok(self):
        return self.skipped is not None or (not self.inconsistencies and not self.problems)

    def as_json(self):
        d = dict(self.__dict__)
        d["answers"] = {str(k): v for k, v in self.answers.items()}
        d["statuses_5xx"] = {str(k): v for k, v in self.statuses_5xx.items()}
        d["ok"] = self.ok
        return d


def recovery(probes, t_kill, t_restart):
    """When probe checkouts ran normally again (each answered 200 within PROBE_GOOD_S):
    the answer time of the first good probe that no bad probe follows, looking first at
    the probes sent before the restart began, else at all of them. Returns (seconds
    after the kill or None, note, restart blip: (bad probes, their span) after the
    recovery point and the restart, or None)."""
    def good(p):
        return p.status == 200 and p.t1 - p.t0 <= load.PROBE_GOOD_S

    ps = [p for p in probes if p.t1 >= t_kill]

    def settle(group):
        last_bad = max((p.t1 for p in group if not good(p)), default=t_kill)
        return min((p.t1 for p in group if good(p) and p.t1 >= last_bad), default=None)

    note = ""
    rec = settle([p for p in ps if p.t0 < t_restart])
    if rec is None:
        rec = settle(ps)
        note = "only after the restart" if rec is not None else "never (no normal probe after the kill)"
    blip = None
    later_bad = [p for p in ps if not good(p) and p.t0 >= t_restart and rec is not None and p.t0 >= rec]
    if later_bad:
        blip = (len(later_bad), max(p.t1 for p in later_bad) - min(p.t0 for p in later_bad))
    return (None if rec is None else rec - t_kill), note, blip


class Suite:
    def __init__(self, args, profile):
        self.args, self.p = args, profile
        self.rng = random.Random(args.seed)
        self.results = []
        self.topos = []        # topologies still running
        self.stopped = []      # problems found when a topology was stopped
        self.started = time.strftime("%F %T")

    def say(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    # ---- saga bookkeeping ----

    async def sagas_inflight(self, topo, session):
        """(number of sagas in flight, "stuck" or None, source): GET /admin/sagas from the
        first gateway's admin listener that answers, else ZCARD sagas:inflight on the
        order master."""
        for url in topo.admin_urls:
            try:
                async with session.get(url + "/admin/sagas", timeout=aiohttp.ClientTimeout(total=3)) as r:
                    if r.status == 200:
                        body = await r.json(content_type=None)
                        if isinstance(body, dict) and isinstance(body.get("inflight"), int):
                            return body["inflight"], body.get("stuck"), "GET /admin/sagas"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                pass

        def zcard():
            with topo.redis("order") as r:
                return r.call("ZCARD", "sagas:inflight")
        try:
            return await asyncio.to_thread(zcard), None, "ZCARD sagas:inflight"
        except (OSError, ConnectionError, RedisError) as e:
            return None, None, f"order Redis: {e}"

    async def sagas_detail(self, topo):
        def read():
            with topo.redis("order") as r:
                ids = r.call("ZRANGE", "sagas:inflight", 0, 19, "WITHSCORES")
                out = []
                for sid, score in zip(ids[::2], ids[1::2]):
                    h = r.call("HGETALL", f"saga:{sid}")
                    h = dict(zip(h[::2], h[1::2]))
                    h.pop("items", None)
                    out.append(f"saga {sid} (lease_until {score}): {h}")
                return out
        try:
            return await asyncio.to_thread(read)
        except (OSError, ConnectionError, RedisError) as e:
            return [f"(could not read the sagas: {e})"]

    async def wait_settled(self, topo, session, sampler, timeout):
        """Waits until no saga is in flight (the sampler's view of sagas:inflight, and
        GET /admin/sagas when the gateway has it). Returns (time or None, source, stuck)."""
        deadline = now() + timeout
        src, stuck = "ZRANGE sagas:inflight", None
        while now() < deadline:
            last = sampler.latest()
            if last is not None and not last[1] and last[0] > now() - 1:
                n, stuck, src2 = await self.sagas_inflight(topo, session)
                if n == 0:
                    return last[0], (src2 if src2.startswith("GET") else src), stuck
            await asyncio.sleep(0.25)
        return None, src, stuck

    # ---- the run ----

    async def run(self):
        base = Path(self.args.dir)
        base.mkdir(parents=True, exist_ok=True)
        faults = [f for f in FAULTS if not self.args.only or f.name in self.args.only]
        single = [f for f in faults if not f.cluster]
        cluster = [f for f in faults if f.cluster]
        if single:
            await self.phase(base / "single", single, nodes=1)
            if cluster and not self.p.short:
                # the cluster's topology takes the same ports
                self.stopped += await asyncio.to_thread(stop_topology, self, self.topos.pop(), keep=False)
        if cluster:
            if self.p.short:
                for f in cluster:
                    r = Result(f)
                    r.skipped = "full mode only (--short runs the single-node restart)"
                    self.results.append(r)
            else:
                await self.phase(base / "cluster", cluster, nodes=3)

    def settings(self, nodes):
        a = self.args
        s = {
            "WDM_PORT_BASE": a.port_base, "WDM_GATEWAY_PORT": a.gateway_port,
            "WDM_RABBITMQ_PORT": a.rabbitmq_port, "WDM_RABBITMQ_MGMT_PORT": a.rabbitmq_mgmt_port,
            "WDM_BUILD_DIR": a.build_dir,
            "WDM_SKIP_INSTALL": os.environ.get("WDM_SKIP_INSTALL", "1"),
            "WDM_SKIP_BUILD": os.environ.get("WDM_SKIP_BUILD", "1"),
            "WDM_SAGA_LEASE_MS": os.environ.get("WDM_SAGA_LEASE_MS", "3000"),
            "WDM_GATEWAYS": os.environ.get("WDM_GATEWAYS", "2"),
            "WDM_PROMETHEUS": "0",     # not what is tested; a process less to share the cores
            "WDM_RABBITMQ_NODES": str(nodes),
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1"),
        }
        if os.environ.get("WDM_SAGA_DEADLINE_MS"):
            s["WDM_SAGA_DEADLINE_MS"] = os.environ["WDM_SAGA_DEADLINE_MS"]
        return s

    async def phase(self, run_dir, faults, nodes):
        topo = Topology(run_dir, self.settings(nodes), self.say)
        # A run dir of an earlier run: stop whatever of it still runs, start afresh.
        if (run_dir / "topology.env").exists():
            topo.read_topology()
            topo.down(purge=True)
        topo.up_log.unlink(missing_ok=True)
        self.topos.append(topo)
        self.say(f"starting the topology in {run_dir} (RabbitMQ nodes: {nodes}; launcher output: {topo.up_log})")
        ok, secs, why = await topo.aup()
        if not ok:
            raise SystemExit(f"chaos: could not start the topology: {why}")
        self.say(f"up in {secs:.1f}s: {len(topo.processes())} processes, gateways {topo.gateways()}, "
                 f"RabbitMQ {topo.rabbit_nodes()}")
        conn = aiohttp.TCPConnector(limit=400)  # aiohttp's own keep-alive (15 s), as clients use it
        async with aiohttp.ClientSession(connector=conn) as session:
            c = load.Client(topo.url, session)
            ledger = load.Ledger()
            pools = load.Pools()
            c.fault = "setup"
            await load.make_pools(c, pools, self.p.mixed_users, self.p.mixed_items, self.rng)
            self.check_setup(c)
            for f in faults:
                r = Result(f)
                self.results.append(r)
                try:
                    await self.one_fault(topo, session, c, ledger, pools, f, r)
                except Skip as e:
                    r.skipped = str(e)
                except load.bench.ScenarioError as e:
                    r.problems.append(f"setup failed: {e}")
                except BaseException as e:
                    r.problems.append(f"the suite stopped in this fault: {type(e).__name__}: {e}")
                    raise
                self.say(self.row_text(r))
                if not r.ok and self.args.stop_on_failure:
                    break
            # the final sweep: everything the phase made, read back once more
            r = Result(Fault(f"final sweep ({run_dir.name})", "every entity of the run read back at the end", None))
            r.skipped = None
            c.fault = "final"
            await self.final_sweep(topo, session, c, ledger, r)
            self.results.append(r)
            self.say(self.row_text(r))

    def check_setup(self, c):
        """Before any fault nothing may be lost: a request dropped on a connection (a reused
        keep-alive one included) fails the run; a 5xx retried with the same key is a note."""
        dropped = [op for op in c.ops if op.status is None or op.drops]
        retried = [op for op in c.ops if op.errors5xx]
        if retried:
            self.say(f"note: {len(retried)} setup request(s) answered 5xx at first, e.g. {retried[0].brief()}")
        if dropped:
            r = Result(Fault("setup", "the pools of users and items, made before any fault", None))
            r.problems.append(f"{len(dropped)} setup request(s) lost their connection with no fault, "
                              f"e.g. {dropped[0].brief()}")
            self.results.append(r)

    async def one_fault(self, topo, session, c, ledger, pools, fault, r):
        p = self.p
        c.fault = fault.name
        self.say(f"--- {fault.name}: {fault.what}")
        fault.pick(topo)                      # Skip early when the case is not possible
        dead = topo.dead()
        if dead:
            self.say(f"not running before the fault: {dead}; running infra/local/up")
            ok, _, why = await topo.aup()
            if not ok or topo.dead():
                r.problems.append(f"topology not whole before the fault ({dead}): {why}")
                return

        # ---- setup (before the clock starts) ----
        seed = self.rng.randrange(1 << 30)
        rounds = [load.ConsistencyRound(c, f"{fault.name}/{k}", p.cons_orders, p.cons_stock, seed + i)
                  for i, k in enumerate("ABC")]
        await asyncio.gather(*(rd.setup() for rd in rounds))
        await load.top_up(c, pools, ledger, p.credit_target, p.stock_target)
        n_probes = int((p.pre + p.post + p.tail + 60
                        + (deadline_ms(topo) / 1000 if fault.outage_past_deadline else 0)) / p.probe_interval)
        if len(pools.probe_orders) < n_probes:
            await load.make_probe_orders(c, pools, n_probes - len(pools.probe_orders))
        first_op = len(c.ops)
        sizes = topo.log_sizes()

        # ---- load, kill, restart ----
        stop = asyncio.Event()
        mixed = load.Mixed(c, pools, random.Random(seed), p.workers, p.pause)
        probe = load.Probe(c, pools, p.probe_interval)
        sampler = load.SagaSampler(topo)
        stop_sampler = asyncio.Event()
        sampler_task = asyncio.ensure_future(sampler.run(stop_sampler))
        t_start = now()
        tasks = [asyncio.ensure_future(mixed.run(stop)), asyncio.ensure_future(probe.run(stop))]
        lag = []

        async def lagmon():
            while not stop.is_set():
                t = now()
                await asyncio.sleep(0.01)
                lag.append((round(t - t_start, 3), round(now() - t - 0.01, 3)))
        tasks.append(asyncio.ensure_future(lagmon()))

        async def at(t, coro):
            await asyncio.sleep(max(0.0, t - now()))
            return await coro

        tasks.append(asyncio.ensure_future(at(t_start + 0.3, rounds[0].fire())))
        await asyncio.sleep(max(0.0, t_start + p.pre - now()))
        picked = await asyncio.to_thread(fault.pick, topo)
        victims = picked if isinstance(picked, list) else [picked]
        victim = r.victim = ", ".join(victims)
        # the second round's burst, and the kill as soon as it is in flight: once half of
        # it is, or once it drains (a fifth below its peak), whichever comes first
        base = c.checkouts_inflight()
        tasks.append(asyncio.ensure_future(rounds[1].fire()))
        t_wait = now()
        peak = 0
        while now() - t_wait < 1.0:
            cur = c.checkouts_inflight()
            peak = max(peak, cur)
            if peak >= base + p.cons_orders // 2 or (peak >= base + 5 and cur - base < (peak - base) * 0.8):
                break
            await asyncio.sleep(0.001)
        r.notes.append(f"kill {now() - t_wait:.3f}s after the burst was fired "
                       f"({base} checkout(s) in flight before it, up to {peak} after)")
        r.inflight_at_kill = c.checkouts_inflight()
        inflight_ops = [op for op in c.inflight if op.is_checkout]
        t_kill = now()
        r.pid = ", ".join(str(pid) for pid in await asyncio.to_thread(lambda: [topo.kill(v) for v in victims]))
        self.say(f"killed {victim} (pid {r.pid}) with {r.inflight_at_kill} checkout(s) in flight")
        tasks.append(asyncio.ensure_future(at(t_kill + 1.5, rounds[2].fire())))

        post = p.post
        if fault.outage_past_deadline:
            post = max(post, (lease_ms(topo) + deadline_ms(topo)) / 1000 + 2)
        await asyncio.sleep(max(0.0, t_kill + post - now()))
        collateral = topo.dead(ignore={*victims, "rabbitmq-launcher"})
        if collateral:
            r.problems.append(f"died besides {victim} during the fault: {collateral}")
        t_restart = now()
        ok, r.up_seconds, why = await topo.aup()
        self.say(f"infra/local/up brought {victim} back in {r.up_seconds:.1f}s" if ok else why)
        if not ok:
            r.problems.append(f"restart failed: {why}")
        await asyncio.sleep(p.tail)
        stop.set()
        await asyncio.gather(*tasks)
        t_stop = now()

        # ---- recovery ----
        limit = (lease_ms(topo) + deadline_ms(topo)) / 1000 + 20
        try:
            t_settled, r.saga_source, stuck = await self.wait_settled(topo, session, sampler, limit)
        finally:
            stop_sampler.set()
            await sampler_task
        r.recovery, r.recovery_note, r.restart_blip = recovery(probe.ops, t_kill, t_restart)
        r.sagas_at_kill = sampler.at_kill(t_kill)
        r.settled = sampler.settled_after(t_kill, None if r.recovery is None else t_kill + r.recovery)
        if t_settled is None:
            r.problems.append(f"sagas still in flight {limit:.0f}s after the load stopped "
                              f"({r.saga_source}): " + "; ".join(await self.sagas_detail(topo)))
        else:
            r.settled_after_stop = t_settled - t_stop
        if stuck:
            r.problems.append(f"GET /admin/sagas says {stuck} saga(s) stuck after recovery")
        r.lag = sorted(lag, key=lambda x: -x[1])[:5]
        r.probes = [(round(op.t0 - t_kill, 3), round(op.t1 - op.t0, 3), op.status) for op in probe.ops]
        for rd in rounds:
            outs = [op for op in c.ops[first_op:] if op.tag == "consistency" and op.is_checkout
                    and op.parts[2] in rd.rep.order_user]
            rd.timing = {"fired": round(rd.fired_at - t_kill, 3) if rd.fired_at else None,
                         "first_sent": round(min(op.t0 for op in outs) - t_kill, 3) if outs else None,
                         "last_sent": round(max(op.t0 for op in outs) - t_kill, 3) if outs else None,
                         "first_answer": round(min(op.t1 for op in outs) - t_kill, 3) if outs else None,
                         "last_answer": round(max(op.t1 for op in outs) - t_kill, 3) if outs else None}
        if inflight_ops:
            r.inflight_resolved = max(op.t1 for op in inflight_ops) - t_kill
        dead = topo.dead()
        if dead:
            r.problems.append(f"not running after the restart: {dead}")

        # ---- verify ----
        ops = c.ops[first_op:]
        await self.judge(topo, c, ledger, pools, fault, r, ops, rounds, probe, mixed, sizes)

    async def judge(self, topo, c, ledger, pools, fault, r, ops, rounds, probe, mixed, sizes):
        """Checks one fault's answers and the data after it; fills r."""
        for op in ops:
            if op.is_checkout:
                r.answers[op.status if op.status is not None else "none"] += 1
            if op.errors5xx:
                r.statuses_5xx.update(op.errors5xx)
                if op.is_checkout:
                    r.checkout_5xx += 1
                    r.problems.append(f"checkout got a 5xx: {op.brief()}")
                else:
                    r.other_5xx += 1
            if op.drops:
                r.dropped += 1
            if op.status is None:
                r.never += 1
                r.problems.append(f"never answered: {op.brief()}")
        if r.dropped and fault.name != "gateway":
            drops = [op for op in ops if op.drops]
            r.problems.append(f"{r.dropped} request(s) lost their connection though no gateway was killed, "
                              f"e.g. {drops[0].brief()}")
        if r.other_5xx:
            r.notes.append(f"{r.other_5xx} non-checkout request(s) answered 5xx at first "
                           f"(statuses {dict(r.statuses_5xx)}), retried with the same key")
        aborts = [op for op in probe.ops if op.status == 409]
        if fault.outage_past_deadline:
            # A checkout sent while stock is down waits for it past its deadline: 409.
            if aborts:
                r.notes.append(f"{len(aborts)} probe checkout(s) aborted by the saga deadline (409)")
        else:
            r.problems.extend(f"probe checkout (ample credit and stock) answered 409: {op.brief()}"
                              for op in aborts)
        r.problems.extend(f"mixed stream: unexpected answer {u}" for u in mixed.unexpected)

        ledger.fold(c.ops)
        # the consistency scenario's own checks
        for rd in rounds:
            failed = await rd.check()
            counts = dict(rd.rep.counts())
            r.rounds.append({"round": rd.name, "answers": {str(k): v for k, v in counts.items()},
                             "expected_200": rd.rep.expected_ok, "failed": [ch.name for ch in failed],
                             "seconds_after_kill": getattr(rd, "timing", None)})
            for ch in failed:
                what = f"consistency round {rd.name}: FAIL {ch.name}: " + "; ".join(ch.evidence[:3])
                if ch.name.startswith("exactly"):
                    # answer counts (a false sold-out, say); fewer 200s are the point of
                    # a fault that outlasts the deadline
                    if fault.outage_past_deadline:
                        r.notes.append("expected, the deadline aborts sagas: " + what)
                    else:
                        r.problems.append(what)
                elif not ch.name.startswith("every answer is 200 or 409"):
                    r.inconsistencies.append(what)
        # exact data check of everything this fault touched, plus the long-lived pools
        touched_orders = sorted({o for o, d in ledger.orders.items() if d["fault"] == fault.name}
                                | {op.parts[2] for op in ops if op.parts[:2] == ["orders", "checkout"]})
        users = sorted(set(pools.users) | {pools.probe_user}
                       | {ledger.orders[o]["user"] for o in touched_orders})
        items = sorted(set(pools.items) | {pools.probe_item}
                       | {i for o in touched_orders for i in ledger.orders[o]["lines"]})
        credit, item, order = await verify.read_back(c, users, items, touched_orders)
        r.inconsistencies += verify.check_data(ledger, credit, item, order)
        r.inconsistencies += verify.check_answers(ledger, touched_orders)
        r.inconsistencies += verify.check_reads(ledger, ops)
        bad, notes = await asyncio.to_thread(verify.check_sagas, topo, ledger, touched_orders)
        r.inconsistencies += bad
        r.notes += notes
        # §7 sums over what was read
        credit_want, stock_want = ledger.expected()
        got = sum(b["credit"] for b in credit.values() if isinstance(b, dict))
        want = sum(credit_want[u] for u in credit)
        if got != want:
            r.inconsistencies.append(f"§7: Σ credit over {len(credit)} users is {got}, the answers say {want}")
        for path, excerpt in topo.scan_logs(sizes):
            r.problems.append(f"crash/sanitizer report in {path}:\n{excerpt}")

    async def final_sweep(self, topo, session, c, ledger, r):
        ledger.fold(c.ops)
        n, _, src = await self.sagas_inflight(topo, session)
        if n:
            r.problems.append(f"{n} saga(s) in flight at the end ({src})")
        orders = sorted(ledger.orders)
        credit, item, order = await verify.read_back(c, sorted(ledger.users), sorted(ledger.items), orders)
        r.inconsistencies += verify.check_data(ledger, credit, item, order)
        r.inconsistencies += verify.check_answers(ledger, orders)
        bad, notes = await asyncio.to_thread(verify.check_sagas, topo, ledger, orders)
        r.inconsistencies += bad
        r.notes += notes
        r.answers.update(op.status if op.status is not None else "none" for op in c.ops if op.is_checkout)
        r.notes.append(f"{len(ledger.users)} users, {len(ledger.items)} items, {len(orders)} orders, "
                       f"{len(c.ops)} requests in this topology")

    # ---- output ----

    @staticmethod
    def fmt_s(x):
        return "-" if x is None else f"{x:.1f}s"

    def row_text(self, r):
        if r.skipped:
            return f"{r.fault}: skipped: {r.skipped}"
        return (f"{r.fault}: {'PASS' if r.ok else 'FAIL'}; checkouts {dict(r.answers)}; "
                f"inconsistencies {len(r.inconsistencies)}; recovery {self.fmt_s(r.recovery)} {r.recovery_note}"
                + "".join(f"\n    ! {x[:600]}" for x in (r.inconsistencies + r.problems)[:12]))

    def table(self):
        head = ("| fault | killed | in flight at kill: checkouts / sagas | checkouts 200 / 409 / other | "
                "5xx seen (checkout / other) | dropped, retried | inconsistencies | recovery | "
                "in-flight answered | restart blip | sagas settled | result |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for r in self.results:
            if r.skipped:
                lines.append(f"| {r.fault} | - | - | - | - | - | - | - | - | - | - | skipped: {r.skipped} |")
                continue
            other = sum(v for k, v in r.answers.items() if k not in (200, 409))
            rec = self.fmt_s(r.recovery) + (f" ({r.recovery_note})" if r.recovery_note else "")
            blip = "none" if not r.restart_blip else f"{r.restart_blip[0]} slow/failed, {r.restart_blip[1]:.1f}s"
            if r.fault.startswith("final sweep"):
                blip = "-"
            res = "PASS" if r.ok else f"FAIL ({len(r.problems)} problem(s))"
            lines.append(
                f"| {r.fault} | {r.victim or '-'} | {'-' if r.inflight_at_kill is None else r.inflight_at_kill} / "
                f"{'-' if r.sagas_at_kill is None else r.sagas_at_kill} | "
                f"{r.answers.get(200, 0)} / {r.answers.get(409, 0)} / {other} | "
                f"{r.checkout_5xx} / {r.other_5xx} | {r.dropped} | {len(r.inconsistencies)} | {rec} | "
                f"{self.fmt_s(r.inflight_resolved)} | {blip} | {self.fmt_s(r.settled)} | {res} |")
        return "\n".join(lines)

    def report(self, interrupted, shutdown_problems):
        ok = all(r.ok for r in self.results) and not shutdown_problems and not interrupted
        mode = "short" if self.p.short else "full"
        out = [f"## Chaos run {self.started} ({mode} mode)", "",
               f"build `{self.args.build_dir}`, saga lease {os.environ.get('WDM_SAGA_LEASE_MS', '3000')} ms, "
               f"ports {self.args.port_base}+ / gateway {self.args.gateway_port}; "
               f"result: **{'PASS' if ok else 'FAIL'}**", "", self.table(), ""]
        details = []
        for r in self.results:
            for title, xs in (("inconsistency", r.inconsistencies), ("problem", r.problems), ("note", r.notes)):
                for x in xs[:20]:
                    details.append(f"- {r.fault}: {title}: {x[:1500]}")
                if len(xs) > 20:
                    details.append(f"- {r.fault}: ... and {len(xs) - 20} more {title}(s)")
        for x in shutdown_problems:
            details.append(f"- shutdown: {x[:3000]}")
        if interrupted:
            details.append("- interrupted before the end")
        if details:
            out += ["Details:", ""] + details + [""]
        return ok, "\n".join(out)


def parse_args(argv):
    env = os.environ.get
    ap = argparse.ArgumentParser(description="kill -9 one process at a time under load; check every answer")
    ap.add_argument("--short", action="store_true", help="the CI version (a few minutes)")
    ap.add_argument("--only", default="", help="comma-separated fault names (default: all): "
                    + ", ".join(f.name for f in FAULTS))
    ap.add_argument("--record", default="", help="also write the table into this file (e.g. tests/chaos/RESULTS.md)")
    ap.add_argument("--dir", default=env("WDM_CHAOS_DIR", "/tmp/wdm-chaos"),
                    help="run dirs, launcher output and results (default /tmp/wdm-chaos)")
    ap.add_argument("--port-base", type=int, default=int(env("WDM_CHAOS_PORT_BASE", "16000")))
    ap.add_argument("--gateway-port", type=int, default=int(env("WDM_CHAOS_GATEWAY_PORT", "16080")))
    ap.add_argument("--rabbitmq-port", type=int, default=int(env("WDM_CHAOS_RABBITMQ_PORT", "16672")))
    ap.add_argument("--rabbitmq-mgmt-port", type=int, default=int(env("WDM_CHAOS_RABBITMQ_MGMT_PORT", "16673")))
    ap.add_argument("--build-dir", default=env("WDM_BUILD_DIR", ""), help="the build to run (WDM_BUILD_DIR)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--stop-on-failure", action="store_true")
    ap.add_argument("--keep", action="store_true", help="leave the topology running at the end")
    a = ap.parse_args(argv)
    a.only = [x for x in a.only.split(",") if x]
    unknown = set(a.only) - {f.name for f in FAULTS}
    if unknown:
        ap.error(f"unknown fault(s): {sorted(unknown)}")
    if not a.build_dir:
        ap.error("no build: set WDM_BUILD_DIR or --build-dir (tests/chaos/run makes one)")
    a.build_dir = str(Path(a.build_dir).resolve())
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    suite = Suite(args, Profile(args.short))
    suite.say(f"chaos suite, {'short' if args.short else 'full'} mode, seed {args.seed}")
    interrupted = False
    fatal = None

    async def amain():
        task = asyncio.current_task()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await suite.run()

    try:
        asyncio.run(amain())
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted = True
        suite.say("interrupted: stopping the topology")
    except SystemExit as e:
        fatal = str(e)
    except Exception:   # a bug of the suite itself: still stop everything
        import traceback
        fatal = "chaos suite error:\n" + traceback.format_exc()
        suite.say(fatal)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        shutdown = shutdown_all(suite, args)
    if fatal:
        shutdown.insert(0, fatal)
    ok, text = suite.report(interrupted, shutdown)
    print("\n" + text, flush=True)
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    (base / "chaos-results.md").write_text(text + "\n")
    (base / "chaos-results.json").write_text(json.dumps(
        {"ok": ok, "seed": args.seed, "mode": "short" if args.short else "full", "started": suite.started,
         "results": [r.as_json() for r in suite.results], "shutdown": shutdown}, indent=1, default=str))
    if args.record:
        record(Path(args.record), text)
    print(f"results: {base / 'chaos-results.md'} and .json", flush=True)
    return 0 if ok else 1


def shutdown_all(suite, args):
    """Stops every topology still running (unless --keep). Returns the problems found
    when each topology was stopped, this time and earlier."""
    problems = list(suite.stopped)
    for topo in suite.topos:
        problems += stop_topology(suite, topo, args.keep)
    return problems


def stop_topology(suite, topo, keep):
    """Stops one topology with infra/local/down (or, with keep, leaves it running), then
    scans its logs. Returns the problems."""
    if keep:
        suite.say(f"--keep: the topology in {topo.run_dir} keeps running (infra/local/down with "
                  f"WDM_RUN_DIR={topo.run_dir} stops it)")
        return []
    problems = []
    topo.remember_pids()
    ok, text = topo.down()
    if not ok:
        problems.append(f"infra/local/down failed for {topo.run_dir}:\n{text[-2000:]}")
    for ln in text.splitlines():
        if IGNORED_TERM_RE.match(ln):
            problems.append(f"{topo.run_dir.name}: {ln} (must exit on TERM)")
    left = topo.stop_leftovers()
    if left:
        problems.append(f"still running after infra/local/down (killed now): {', '.join(left)}")
    for path, excerpt in topo.scan_logs():
        problems.append(f"crash/sanitizer report in {topo.run_dir.name}/{path}:\n{excerpt}")
    suite.say(f"stopped {topo.run_dir} (logs kept; data in {topo.run_dir / 'data'})")
    return problems


def record(path, text):
    """Writes the run's table into the repository file, below its fixed header."""
    header = ("# Chaos suite results\n\n"
              "Written by `tests/chaos/run --record tests/chaos/RESULTS.md`; how to read the table:\n"
              "[README.md](README.md). The latest run is on top.\n\n")
    old = path.read_text() if path.exists() else ""
    if old.startswith(header):
        old = old[len(header):]
    path.write_text(header + text.rstrip() + "\n\n" + old.lstrip())


if __name__ == "__main__":
    sys.exit(main())
