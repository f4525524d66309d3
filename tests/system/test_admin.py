"""GET /admin/sagas (order.sagas, order/saga_list.lua) on the gateway's admin listener: the
checkout sagas in flight, for operators and the chaos tests:
    {"inflight": n, "stuck": m, "sagas": [[saga_id, order_id, state, owner, age_ms,
                                          lease_left_ms, deadline_left_ms, stuck], ...]}
Through the API: nothing in flight, then a checkout held up by stopping (SIGSTOP) every
payment replica, listed while it waits and gone once they run again. The script itself,
on an index of its own: what counts as stuck, the order of the list, its cap."""

import os
import re
import secrets
import signal
import threading
import time
from pathlib import Path

from test_saga_scripts import redis  # noqa: F401  the order master's redis-cli (a fixture)
from wdmtest import ID_RE, expect_ok, is_int

REPO = Path(__file__).resolve().parents[2]
FIELDS = ["saga_id", "order_id", "state", "owner", "age_ms", "lease_left_ms",
          "deadline_left_ms", "stuck"]
PB = {"Accept": "application/x-protobuf"}
SETTLE_S = 60        # a saga left by an earlier test ends within its deadline (30 s)


def sagas(admin):
    """The endpoint's JSON, its shape checked; sagas as dicts of FIELDS."""
    body = expect_ok(admin.get("/admin/sagas"), {"inflight", "stuck", "sagas"})
    assert is_int(body["inflight"]) and is_int(body["stuck"]), body
    assert 0 <= body["stuck"] <= body["inflight"], body
    assert isinstance(body["sagas"], list) and len(body["sagas"]) <= min(body["inflight"], 100), body
    listed = []
    for row in body["sagas"]:
        assert isinstance(row, list) and len(row) == len(FIELDS), row
        s = dict(zip(FIELDS, row))
        assert all(isinstance(s[k], str) for k in FIELDS[:4]), row
        assert all(is_int(s[k]) for k in FIELDS[4:7]) and isinstance(s["stuck"], bool), row
        listed.append(s)
    body["sagas"] = listed
    return body


def settled(admin, timeout=SETTLE_S):
    """Waits until no saga is in flight; returns the last answer."""
    deadline = time.monotonic() + timeout
    body = sagas(admin)
    while body["inflight"] and time.monotonic() < deadline:
        time.sleep(0.25)
        body = sagas(admin)
    return body


def test_nothing_in_flight(admin, pb):
    assert settled(admin) == {"inflight": 0, "stuck": 0, "sagas": []}
    r = admin.get("/admin/sagas", headers=PB)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-protobuf")
    msg = pb.SagasReply()
    msg.ParseFromString(r.content)
    assert (msg.inflight, msg.stuck, len(msg.sagas)) == (0, 0, 0)


def test_only_get_without_parameters(admin):
    assert admin.post("/admin/sagas").status_code == 405
    assert admin.get("/admin/sagas/5").status_code == 400
    assert admin.get("/admin/saga").status_code == 404


def test_admin_listener_serves_no_api(admin, api):
    """The admin listener serves /metrics, /admin/sagas and /health only; the API's routes
    are 404 there, and its /health is the public one's."""
    assert admin.get("/health").status_code == 200
    item = api.new_item(10, stock=1)
    for method, path in [("GET", f"/stock/find/{item}"), ("POST", f"/stock/subtract/{item}/1"),
                         ("POST", "/payment/create_user"), ("POST", "/stock/batch_init/1/1/1")]:
        r = admin.req(method, path)
        assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
    assert api.item(item)["stock"] == 1


def test_public_port_serves_no_admin(api):
    """/admin/sagas and /metrics are not on the public port: 404 for any method, as for
    any path that does not exist (not 405, which would say the path exists)."""
    for method in ("GET", "POST"):
        for path in ("/admin/sagas", "/metrics", "/admin/sagas?limit=5", "/metrics/"):
            r = api.req(method, path)
            assert r.status_code == 404, (method, path, r.status_code, r.text[:200])
            assert r.json() == {"error": "not found"}, r.text[:200]


def _payment_pids(env):
    """The pids of every payment replica of the test topology, each checked to be one."""
    pids = []
    for i in range(1, int(env["WDM_REPLICAS"]) + 1):
        pid = int(Path(env["WDM_PID_DIR"], f"payment-{i}.pid").read_text().split()[0])
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        assert os.path.basename(cmd) == b"payment", (pid, cmd)
        pids.append(pid)
    return pids


def _signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def test_lists_a_saga_that_waits(api, admin, pb, topology_env):
    """Every payment replica stopped: the Charge waits in its queue, the saga stays
    CHARGING and is listed with its order, owner and a growing age; once payment runs
    again the checkout is paid and the list is empty."""
    assert settled(admin)["inflight"] == 0
    user = api.new_user(100)
    item = api.new_item(10, stock=5)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))
    pids = _payment_pids(topology_env)
    answer = {}

    def checkout():
        try:
            answer["resp"] = api.req("POST", f"/orders/checkout/{order}", timeout=90)
        except Exception as e:  # noqa: BLE001  reported by the assertion below
            answer["error"] = e

    waiter = threading.Thread(target=checkout, daemon=True)
    _signal_all(pids, signal.SIGSTOP)
    try:
        waiter.start()
        deadline = time.monotonic() + 10
        mine = []
        while not mine and time.monotonic() < deadline:
            time.sleep(0.1)
            mine = [s for s in sagas(admin)["sagas"] if s["order_id"] == order]
        assert len(mine) == 1, f"order {order} not listed: {sagas(admin)}"
        first, t_first = mine[0], time.monotonic()
        assert ID_RE.match(first["saga_id"]) and ID_RE.match(first["owner"]), first
        assert first["state"] == "CHARGING", first
        assert first["lease_left_ms"] > 0 and first["deadline_left_ms"] > first["lease_left_ms"], first
        assert first["stuck"] is False, first

        time.sleep(1)
        body = sagas(admin)
        later = next(s for s in body["sagas"] if s["order_id"] == order)
        elapsed_ms = (time.monotonic() - t_first) * 1000
        assert later["saga_id"] == first["saga_id"] and later["state"] == "CHARGING", later
        assert 0.5 * elapsed_ms < later["age_ms"] - first["age_ms"] < elapsed_ms + 1000, (first, later)
        assert later["deadline_left_ms"] < first["deadline_left_ms"], (first, later)
        assert body["inflight"] >= 1

        # The same through protobuf.
        r = admin.get("/admin/sagas", headers=PB)
        assert r.status_code == 200, r.content[:200]
        msg = pb.SagasReply()
        msg.ParseFromString(r.content)
        pb_mine = [s for s in msg.sagas if s.order_id == order]
        assert len(pb_mine) == 1 and pb_mine[0].saga_id == first["saga_id"], msg
        assert pb_mine[0].state == "CHARGING" and pb_mine[0].owner == first["owner"]
        assert pb_mine[0].age_ms >= later["age_ms"]
    finally:
        _signal_all(pids, signal.SIGCONT)

    waiter.join(timeout=90)
    assert not waiter.is_alive(), "the checkout did not answer within 90 s"
    assert "error" not in answer, answer
    assert expect_ok(answer["resp"]) == {"order_id": order, "paid": True}
    assert api.order(order)["paid"] is True
    body = settled(admin, timeout=10)
    assert body == {"inflight": 0, "stuck": 0, "sagas": []}


# ---- the script itself, on an index of its own (the replicas never look at it) ----

def _list(redis, index, limit):  # noqa: F811  (redis: the fixture)
    """Runs saga_list.lua; returns (inflight, stuck, [saga as a dict of FIELDS])."""
    out = redis("EVAL", (REPO / "order" / "saga_list.lua").read_text(), "1", index, str(limit))
    head, rows = out[:2], out[2:]
    assert len(rows) % len(FIELDS) == 0, out
    listed = [dict(zip(FIELDS, rows[i:i + len(FIELDS)])) for i in range(0, len(rows), len(FIELDS))]
    for s in listed:
        for k in FIELDS[4:]:
            s[k] = int(s[k])
    return int(head[0]), int(head[1]), listed


def _redis_now_ms(redis):  # noqa: F811
    sec, usec = redis("TIME")
    return int(sec) * 1000 + int(usec) // 1000


def test_script_stuck_order_and_cap(redis):  # noqa: F811
    index = "test:inflight:" + secrets.token_hex(4)
    ids = {k: f"t{secrets.token_hex(8)}-{k}" for k in ("fresh", "expired", "overdue", "legacy", "gone")}
    now = _redis_now_ms(redis)
    # name: (started or None, lease_until, deadline)
    spec = {
        "fresh": (now - 5000, now + 5000, now + 25000),
        "expired": (now - 20000, now - 1000, now + 10000),      # lease expired: stuck
        "overdue": (now - 1000, now + 9000, now - 1),           # deadline past: stuck
        "legacy": (None, now + 8000, now + 1000),               # begun before 'started'
    }
    try:
        for name, (started, lease, deadline) in spec.items():
            fields = ["state", "CHARGING", "order", f"o-{name}", "owner", "order-x",
                      "lease_until", str(lease), "deadline", str(deadline)]
            if started is not None:
                fields += ["started", str(started)]
            redis("HSET", f"saga:{ids[name]}", *fields)
            redis("ZADD", index, str(lease), ids[name])
        redis("ZADD", index, str(now - 10), ids["gone"])          # no hash: stuck by the index

        inflight, stuck, listed = _list(redis, index, 100)
        assert (inflight, stuck) == (5, 3)
        assert [s["saga_id"] for s in listed] == \
            [ids[k] for k in ("gone", "legacy", "expired", "fresh", "overdue")]
        by = {s["saga_id"]: s for s in listed}
        gone, legacy = by[ids["gone"]], by[ids["legacy"]]
        assert (gone["state"], gone["order_id"], gone["owner"], gone["age_ms"], gone["deadline_left_ms"]) == \
            ("", "", "", 0, 0)
        assert gone["lease_left_ms"] <= -10 and gone["stuck"] == 1
        assert legacy["age_ms"] == 0 and legacy["stuck"] == 0 and legacy["order_id"] == "o-legacy"
        for name, (started, lease, deadline) in spec.items():
            s = by[ids[name]]
            assert (s["state"], s["order_id"], s["owner"]) == ("CHARGING", f"o-{name}", "order-x")
            # The script reads TIME a little after `now`.
            if started is not None:
                assert 0 <= s["age_ms"] - (now - started) < 2000, s
            assert -2000 < s["lease_left_ms"] - (lease - now) <= 0, s
            assert -2000 < s["deadline_left_ms"] - (deadline - now) <= 0, s
            assert s["stuck"] == (1 if name in ("expired", "overdue") else 0), s

        # The cap lists the oldest; the counts stay whole.
        inflight, stuck, listed = _list(redis, index, 2)
        assert (inflight, stuck) == (5, 3)
        assert [s["saga_id"] for s in listed] == [ids["gone"], ids["legacy"]]
        assert _list(redis, "test:inflight:none-" + secrets.token_hex(4), 100) == (0, 0, [])
    finally:
        redis("DEL", index, *(f"saga:{i}" for i in ids.values()))


def test_script_runs_read_only(redis):  # noqa: F811
    """flags=no-writes: EVAL_RO accepts it (a script that may write is refused)."""
    out = redis("EVAL_RO", (REPO / "order" / "saga_list.lua").read_text(), "1",
                "test:inflight:none-" + secrets.token_hex(4), "1")
    assert out == ["0", "0"]


def test_checkout_records_started(api, redis):  # noqa: F811
    """checkout_begin.lua records when a saga started (the age's origin), by Redis's clock."""
    user = api.new_user(100)
    item = api.new_item(3, stock=1)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    before = _redis_now_ms(redis)
    expect_ok(api.post(f"/orders/checkout/{order}"))
    after = _redis_now_ms(redis)
    saga = redis("HGET", f"order:{order}", "saga")[0]
    assert re.fullmatch(r"[0-9a-f]{32}", saga), saga
    started = int(redis("HGET", f"saga:{saga}", "started")[0])
    assert before <= started <= after
