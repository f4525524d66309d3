"""The checkout saga's Lua scripts (order/checkout_begin.lua, saga_step.lua,
saga_takeover.lua), run directly on the test topology's order Redis master: every
transition, what a repeated event or a re-run script (after a lost reply or a WAIT
timeout) does, and the takeover of a saga whose lease or deadline passed. Timing makes
these paths rare through the API; here they are deterministic. The sagas here use an
in-flight index of their own, so the running order replicas never take them over.
"""
import os
import secrets
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TTL = "600"
LEASE = "10000"
INFLIGHT = "test:inflight:" + secrets.token_hex(4)


def _lua(name, where="order"):
    return (REPO / where / name).read_text()


def batch_form(script):
    """The script's batch form, as store.c builds it (common/batch_*.lua)."""
    return "\n".join([_lua("batch_prologue.lua", "common"), script, _lua("batch_epilogue.lua", "common")])


@pytest.fixture(scope="module")
def redis(topology_env):
    """Runs a command on the order group's current master (found through a Sentinel);
    returns the reply's lines (redis-cli's plain output, arrays flattened)."""
    pw = topology_env["WDM_REDIS_PASSWORD"]
    sentinel = topology_env["WDM_SENTINEL_PORTS"].split()[0]
    sentinel_env = dict(os.environ, REDISCLI_AUTH=topology_env["WDM_SENTINEL_PASSWORD"])
    out = subprocess.run(["redis-cli", "-p", sentinel, "SENTINEL", "get-master-addr-by-name", "order"],
                         check=True, capture_output=True, text=True, env=sentinel_env).stdout.split()
    host, port = out[0], out[1]

    def run(*args):
        env = dict(os.environ, REDISCLI_AUTH=pw)
        res = subprocess.run(["redis-cli", "-h", host, "-p", port, *args], check=True,
                             capture_output=True, text=True, env=env)
        return res.stdout.splitlines()

    return run


@pytest.fixture
def order(redis):
    """A fresh order with one line (item 'i1' x2), total 10, open and unpaid."""
    oid = "t" + secrets.token_hex(8)
    redis("HSET", f"order:{oid}", "user", "u1", "paid", "0", "total", "10", "status", "open",
          "i:i1", "2")
    return oid


def begin(redis, oid, key, saga_id=None):
    saga_id = saga_id or secrets.token_hex(16)
    return redis("EVAL", _lua("checkout_begin.lua"), "5", f"order:{oid}",
                 f"idem:order.checkout:{oid}-{key}", f"saga:{saga_id}", f"saga:{saga_id}:keys",
                 INFLIGHT, saga_id, "order-test", "order.events.order-test", LEASE, "30000")


def step(redis, saga_id, kind, outcome, reason=""):
    return redis("EVAL", _lua("saga_step.lua"), "3", f"saga:{saga_id}", f"saga:{saga_id}:keys",
                 INFLIGHT, kind, outcome, reason, TTL, saga_id, LEASE)


def take_over(redis, saga_id):
    return redis("EVAL", _lua("saga_takeover.lua"), "2", f"saga:{saga_id}", INFLIGHT, saga_id,
                 "order-other", "order.events.order-other", LEASE)


def expire(redis, saga_id, deadline_too=False):
    """Makes the saga's lease (and deadline) lie in the past."""
    redis("HSET", f"saga:{saga_id}", "lease_until", "0", *(["deadline", "0"] if deadline_too else []))


def in_flight(redis, saga_id):
    return redis("ZSCORE", INFLIGHT, saga_id) != [""]


def test_start_then_commit(redis, order):
    started = begin(redis, order, "k1")
    assert started[0] == "STARTED" and started[2:] == ["u1", "10", "i1", "2"]
    saga = started[1]
    assert redis("HGET", f"order:{order}", "status") == ["checking_out"]
    assert step(redis, saga, "CHARGE", "APPLIED") == ["RESERVE", "u1", "i1", "2"]
    assert step(redis, saga, "RESERVE", "APPLIED") == ["FINAL", "COMMITTED", "", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["1", "open"]
    # A new checkout of the paid order answers at once; the first call's key replays.
    assert begin(redis, order, "k2") == ["PAID"]
    assert begin(redis, order, "k1") == ["FINAL", "COMMITTED", ""]
    # Late duplicates change nothing.
    assert step(redis, saga, "CHARGE", "APPLIED") == ["FINAL", "COMMITTED", ""]
    assert step(redis, saga, "RESERVE", "REJECTED", "x") == ["FINAL", "COMMITTED", ""]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["1", "open"]


def test_charge_rejected_aborts_without_compensation(redis, order):
    saga = begin(redis, order, "k1")[1]
    assert step(redis, saga, "CHARGE", "REJECTED", "not enough credit") == \
        ["FINAL", "ABORTED", "not enough credit", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["0", "open"]
    assert begin(redis, order, "k1") == ["FINAL", "ABORTED", "not enough credit"]
    # The order can be checked out again, by a new saga.
    again = begin(redis, order, "k3")
    assert again[0] == "STARTED" and again[1] != saga


def test_reserve_rejected_refunds_then_aborts(redis, order):
    saga = begin(redis, order, "k1")[1]
    step(redis, saga, "CHARGE", "APPLIED")
    assert step(redis, saga, "RESERVE", "REJECTED", "not enough stock") == ["REFUND"]
    assert redis("HGET", f"saga:{saga}", "state") == ["REFUNDING"]
    # Still checking out until the refund is confirmed.
    assert begin(redis, order, "k2") == ["JOIN", saga]
    assert step(redis, saga, "REFUND", "COMPENSATED") == \
        ["FINAL", "ABORTED", "not enough stock", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["0", "open"]
    # Both waiting calls' keys got the outcome.
    assert begin(redis, order, "k1") == ["FINAL", "ABORTED", "not enough stock"]
    assert begin(redis, order, "k2") == ["FINAL", "ABORTED", "not enough stock"]


def test_repeated_event_resends_the_next_command(redis, order):
    """The same event again (redelivery, or the script re-run after its reply was lost)
    must ask for the command it led to again, or the saga would stall."""
    saga = begin(redis, order, "k1")[1]
    assert step(redis, saga, "CHARGE", "APPLIED") == ["RESERVE", "u1", "i1", "2"]
    assert step(redis, saga, "CHARGE", "APPLIED") == ["RESERVE", "u1", "i1", "2"]
    assert redis("HGET", f"saga:{saga}", "state") == ["RESERVING"]
    assert step(redis, saga, "RESERVE", "REJECTED", "not enough stock") == ["REFUND"]
    assert step(redis, saga, "RESERVE", "REJECTED", "not enough stock") == ["REFUND"]
    assert redis("HGET", f"saga:{saga}", "state") == ["REFUNDING"]
    # Events that do not fit the state are ignored.
    assert step(redis, saga, "CHARGE", "REJECTED", "x") == ["IGNORED", "REFUNDING"]
    assert step(redis, saga, "REFUND", "COMPENSATED")[:2] == ["FINAL", "ABORTED"]
    # Only the event that ended the saga says so (the outcome metrics count it once).
    assert step(redis, saga, "REFUND", "COMPENSATED") == ["FINAL", "ABORTED", "not enough stock"]


def test_repeated_call_resends_charge_only_while_charging(redis, order):
    """A checkout call seen twice (nng re-sent it, or the script re-ran) may have started
    the saga without its Charge going out: while CHARGING, the repeat gets STARTED with
    the first saga's id; any other call joins."""
    first = begin(redis, order, "k1")
    saga = first[1]
    repeat = begin(redis, order, "k1")
    assert repeat == ["STARTED", saga, "u1", "10"]
    assert begin(redis, order, "k2") == ["JOIN", saga]
    step(redis, saga, "CHARGE", "APPLIED")
    assert begin(redis, order, "k1") == ["JOIN", saga]


def test_unknown_order_and_unknown_saga(redis):
    assert begin(redis, "t" + secrets.token_hex(8), "k1") == ["NOT_FOUND"]
    assert step(redis, secrets.token_hex(16), "CHARGE", "APPLIED") == ["IGNORED", ""]


def test_takeover_waits_for_the_lease_then_resends_the_step(redis, order):
    saga = begin(redis, order, "k1")[1]
    assert in_flight(redis, saga)
    assert take_over(redis, saga) == ["LEASED"]
    expire(redis, saga)
    assert take_over(redis, saga) == ["CHARGE", "u1", "10"]
    assert redis("HMGET", f"saga:{saga}", "owner", "reply_to", "state") == \
        ["order-other", "order.events.order-other", "CHARGING"]
    assert take_over(redis, saga) == ["LEASED"]          # the new owner holds a fresh lease
    step(redis, saga, "CHARGE", "APPLIED")
    expire(redis, saga)
    assert take_over(redis, saga) == ["RESERVE", "u1", "i1", "2"]
    assert step(redis, saga, "RESERVE", "APPLIED") == ["FINAL", "COMMITTED", "", "NEW"]
    assert not in_flight(redis, saga)
    assert take_over(redis, saga) == ["DONE"]


def test_deadline_while_charging_refunds_and_aborts(redis, order):
    saga = begin(redis, order, "k1")[1]
    expire(redis, saga, deadline_too=True)
    assert take_over(redis, saga) == ["REFUND"]
    assert redis("HGET", f"saga:{saga}", "state") == ["REFUNDING"]
    # The late answer to the Charge changes nothing: the Refund undoes it.
    assert step(redis, saga, "CHARGE", "APPLIED") == ["IGNORED", "REFUNDING"]
    assert step(redis, saga, "REFUND", "COMPENSATED") == \
        ["FINAL", "ABORTED", "checkout timed out", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["0", "open"]
    assert not in_flight(redis, saga)


def test_deadline_while_reserving_releases_then_refunds(redis, order):
    saga = begin(redis, order, "k1")[1]
    step(redis, saga, "CHARGE", "APPLIED")
    expire(redis, saga, deadline_too=True)
    assert take_over(redis, saga) == ["RELEASE", "u1", "i1", "2"]
    assert redis("HGET", f"saga:{saga}", "state") == ["RELEASING"]
    assert step(redis, saga, "RESERVE", "APPLIED") == ["IGNORED", "RELEASING"]
    assert step(redis, saga, "RELEASE", "COMPENSATED") == ["REFUND"]
    assert step(redis, saga, "RELEASE", "COMPENSATED") == ["REFUND"]   # repeated: again
    assert step(redis, saga, "REFUND", "COMPENSATED") == \
        ["FINAL", "ABORTED", "checkout timed out", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["0", "open"]


def steps(redis, *events):
    """Applies events (saga_id, kind, outcome, reason) with ONE call of saga_step.lua's
    batch form (what store_batch sends for a run of calls); returns the reply lines."""
    keys, args, counts = [], [], []
    for saga_id, kind, outcome, reason in events:
        keys += [f"saga:{saga_id}", f"saga:{saga_id}:keys", INFLIGHT]
        args += [kind, outcome, reason, TTL, saga_id, LEASE]
        counts += ["3", "6"]
    return redis("EVAL", batch_form(_lua("saga_step.lua")), str(len(keys)), *keys,
                 str(len(events)), *counts, *args)


def test_a_batch_of_events_applies_each_in_order(redis, order):
    """Both events of one saga in one call: the second sees what the first did, as if
    they came in two calls. An event of an unknown saga between them is ignored alone."""
    saga = begin(redis, order, "k1")[1]
    assert steps(redis, (saga, "CHARGE", "APPLIED", ""), ("nosuchsaga", "CHARGE", "APPLIED", ""),
                 (saga, "RESERVE", "APPLIED", "")) == \
        ["RESERVE", "u1", "i1", "2", "IGNORED", "", "FINAL", "COMMITTED", "", "NEW"]
    assert redis("HMGET", f"order:{order}", "paid", "status") == ["1", "open"]
    assert not in_flight(redis, saga)


def test_in_a_batch_a_failing_call_fails_alone(redis, order):
    """A call that raises an error (here: a saga record holding bad data) answers an
    error in its place; the calls before and after it still apply."""
    bad = begin(redis, order, "k1")[1]
    redis("HSET", f"saga:{bad}", "items", "not msgpack")
    other = "t" + secrets.token_hex(8)
    redis("HSET", f"order:{other}", "user", "u2", "paid", "0", "total", "5", "status", "open",
          "i:i2", "1")
    good = begin(redis, other, "k1")[1]
    out = steps(redis, (good, "CHARGE", "APPLIED", ""), (bad, "CHARGE", "APPLIED", ""),
                (good, "RESERVE", "APPLIED", ""))
    assert out[:4] == ["RESERVE", "u2", "i2", "1"], out
    assert out[4].startswith("user_script:"), out          # the error, in its place
    assert out[-4:] == ["FINAL", "COMMITTED", "", "NEW"], out
    assert redis("HMGET", f"order:{other}", "paid", "status") == ["1", "open"]
