"""Checkout (DESIGN §3 checkout rules, §5 saga, §7 invariants): 200 {"order_id", "paid": true}
means the stock and the credit are taken and the order is paid; 409 means nothing was taken
anywhere; a paid order checks out again as 200 without a second charge and takes no more
items. Every test reads the data back after every step."""

import asyncio
import sys
from pathlib import Path

import pytest

from wdmtest import concurrently, expect_error, expect_ok, uid

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import consistency  # noqa: E402  bench/consistency.py: the scenario, shared with the benchmark


def checkout(api, order, **kw):
    return api.post(f"/orders/checkout/{order}", **kw)


def expect_paid(resp, order):
    assert expect_ok(resp, {"order_id", "paid"}) == {"order_id": order, "paid": True}


def snapshot(api, user, items, order):
    """(credit, {item: stock}, paid) read back now."""
    return api.credit(user), {i: api.item(i)["stock"] for i in items}, api.order(order)["paid"]


def test_classic_flow(api):
    user = api.new_user(0)
    item = api.new_item(10, stock=1)
    order = api.new_order(user)
    assert expect_ok(api.post(f"/orders/addItem/{order}/{item}/2")) == {"order_id": order, "total_cost": 20}

    # no credit (and not enough stock): nothing taken
    expect_error(checkout(api, order), 409)
    assert snapshot(api, user, [item], order) == (0, {item: 1}, False)

    # credit enough, stock 1 < 2: nothing taken, the credit stays
    assert expect_ok(api.post(f"/payment/add_funds/{user}/100")) == {"done": True, "credit": 100}
    expect_error(checkout(api, order), 409)
    assert snapshot(api, user, [item], order) == (100, {item: 1}, False)

    # both there: paid, exactly once
    assert expect_ok(api.post(f"/stock/add/{item}/1")) == {"item_id": item, "stock": 2}
    expect_paid(checkout(api, order), order)
    assert snapshot(api, user, [item], order) == (80, {item: 0}, True)
    assert api.order(order) == {"order_id": order, "paid": True, "items": [[item, 2]], "user_id": user,
                                "total_cost": 20}

    # checkout of a paid order: 200, nothing charged again
    expect_paid(checkout(api, order), order)
    assert snapshot(api, user, [item], order) == (80, {item: 0}, True)

    # a paid order takes no more items
    before = api.order(order)
    expect_error(api.post(f"/orders/addItem/{order}/{item}/1"), 409)
    assert api.order(order) == before
    assert snapshot(api, user, [item], order) == (80, {item: 0}, True)


def test_all_or_nothing_across_items(api):
    user = api.new_user(100)
    a = api.new_item(3, stock=5)
    b = api.new_item(4, stock=1)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{a}/2"))
    assert expect_ok(api.post(f"/orders/addItem/{order}/{b}/2"))["total_cost"] == 14
    # b is short: a's stock and the credit are untouched too
    expect_error(checkout(api, order), 409)
    assert snapshot(api, user, [a, b], order) == (100, {a: 5, b: 1}, False)
    expect_ok(api.post(f"/stock/add/{b}/1"))
    expect_paid(checkout(api, order), order)
    assert snapshot(api, user, [a, b], order) == (86, {a: 3, b: 0}, True)


def test_quantities_of_one_item_are_summed(api):
    user = api.new_user(100)
    item = api.new_item(1, stock=3)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))     # 4 in all, 3 in stock
    expect_error(checkout(api, order), 409)
    assert snapshot(api, user, [item], order) == (100, {item: 3}, False)
    expect_ok(api.post(f"/stock/add/{item}/1"))
    expect_paid(checkout(api, order), order)
    assert snapshot(api, user, [item], order) == (96, {item: 0}, True)


def test_not_enough_credit_by_one(api):
    user = api.new_user(19)
    item = api.new_item(10, stock=5)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))
    expect_error(checkout(api, order), 409)
    assert snapshot(api, user, [item], order) == (19, {item: 5}, False)
    expect_ok(api.post(f"/payment/add_funds/{user}/1"))
    expect_paid(checkout(api, order), order)
    assert snapshot(api, user, [item], order) == (0, {item: 3}, True)


@pytest.mark.parametrize("run", range(3))
def test_consistency_1000_checkouts_100_units(base_url, run):
    """The WDM consistency test: 1 item with stock 100 and price 1, 1000 users with credit 1,
    1000 orders of it by random users, all checked out at once (bench/consistency.py)."""
    try:
        rep = asyncio.run(consistency.run(base_url, orders=1000, stock=100, concurrency=200))
    except consistency.ScenarioError as e:
        pytest.fail(f"setup or read-back failed: {e}", pytrace=False)
    print(rep.text())
    assert rep.ok, "\n" + rep.text()
    assert rep.final_stock == 0 and sum(rep.credits.values()) == 900
    assert rep.counts() == {200: 100, 409: 900}


def test_concurrent_checkouts_of_one_order(api, base_url):
    user = api.new_user(100)
    item = api.new_item(5, stock=10)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    answers = concurrently(base_url, [f"/orders/checkout/{order}"] * 20, concurrency=20)
    bad = [a for a in answers if (a.status, a.ctype, a.body) != (200, "application/json",
                                                                 {"order_id": order, "paid": True})]
    assert not bad, f"{len(bad)} of 20 concurrent checkouts of {order} did not answer 200 paid: {bad[:5]}"
    assert snapshot(api, user, [item], order) == (95, {item: 9}, True)


def test_concurrent_checkouts_of_one_users_orders(api, base_url):
    """Credit 35 covers 3 of 6 orders of 10 (stock is plenty): exactly 3 are paid, the rest
    409 with nothing taken."""
    user = api.new_user(35)
    item = api.new_item(10, stock=100)
    orders = api.new_orders(user, item, 6)
    answers = concurrently(base_url, [f"/orders/checkout/{o}" for o in orders], concurrency=6)
    by_order = dict(zip(orders, answers))
    assert all(a.status in (200, 409) for a in answers), by_order
    paid_ok = [o for o, a in by_order.items() if a.status == 200]
    for o, a in by_order.items():
        if a.status == 200:
            assert a.body == {"order_id": o, "paid": True}, (o, a)
        else:
            assert isinstance(a.body, dict) and set(a.body) == {"error"}, (o, a)
    credit = api.credit(user)
    assert credit >= 0
    assert len(paid_ok) * 10 == 35 - credit, (by_order, credit)
    assert len(paid_ok) == 3, f"credit 35 pays 3 orders of 10; got {len(paid_ok)} x 200: {by_order}"
    assert api.item(item)["stock"] == 100 - len(paid_ok)
    for o in orders:
        assert api.order(o)["paid"] is (o in paid_ok), (o, by_order[o])


@pytest.mark.parametrize("run", range(3))
def test_add_item_during_checkout(api, base_url, run):
    """addItems race a checkout of their order: whatever was added before the payment is
    paid for, nothing is added after it. The paid total is what was charged and the stock
    taken is the paid quantities."""
    user = api.new_user(10_000)
    a = api.new_item(10, stock=1000)
    b = api.new_item(7, stock=1000)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{a}/1"))
    adds = [{"path": f"/orders/addItem/{order}/{(a, b)[k % 2]}/1", "delay": 0.002 * k} for k in range(40)]
    answers = concurrently(base_url, [{"path": f"/orders/checkout/{order}", "delay": 0.01}] + adds,
                           concurrency=41)
    co, add_answers = answers[0], answers[1:]
    assert (co.status, co.body) == (200, {"order_id": order, "paid": True}), co
    bad = [(rq["path"], x) for rq, x in zip(adds, add_answers) if x.status not in (200, 409)]
    assert not bad, bad
    for x in add_answers:
        if x.status == 409:
            assert isinstance(x.body, dict) and set(x.body) == {"error"}, x
    added = {a: 1, b: 0}
    for rq, x in zip(adds, add_answers):
        if x.status == 200:
            added[rq["path"].split("/")[4]] += 1
    found = api.order(order)
    assert found["paid"] is True
    qty = {i: q for i, q in found["items"]}
    # every addItem answered 200 is in the order, no other
    assert {i: qty.get(i, 0) for i in (a, b)} == added, (found, added)
    assert found["total_cost"] == 10 * added[a] + 7 * added[b], found
    # what was charged and taken is exactly the paid order
    assert 10_000 - api.credit(user) == found["total_cost"], (found, api.credit(user))
    assert api.item(a)["stock"] == 1000 - added[a]
    assert api.item(b)["stock"] == 1000 - added[b]
    # and it stays so
    expect_error(api.post(f"/orders/addItem/{order}/{a}/1"), 409)
    expect_paid(checkout(api, order), order)
    assert api.order(order) == found
    assert 10_000 - api.credit(user) == found["total_cost"]


def test_idempotency_key_success_replayed(api):
    user = api.new_user(50)
    item = api.new_item(10, stock=5)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))
    key = uid("idem")
    r1 = checkout(api, order, headers={"Idempotency-Key": key})
    r2 = checkout(api, order, headers={"Idempotency-Key": key})
    expect_paid(r1, order)
    expect_paid(r2, order)
    assert snapshot(api, user, [item], order) == (30, {item: 3}, True)


def test_idempotency_key_conflict_replayed(api):
    """A retried checkout with the same key gets the first answer (409) even when it would
    now succeed, and is applied once (not at all); a new key checks out for real."""
    user = api.new_user(0)
    item = api.new_item(10, stock=5)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    key = uid("idem")
    r1 = checkout(api, order, headers={"Idempotency-Key": key})
    e1 = expect_error(r1, 409)
    expect_ok(api.post(f"/payment/add_funds/{user}/10"))
    r2 = checkout(api, order, headers={"Idempotency-Key": key})
    e2 = expect_error(r2, 409)
    assert e1 == e2, (r1.text, r2.text)
    assert snapshot(api, user, [item], order) == (10, {item: 5}, False)
    expect_paid(checkout(api, order, headers={"Idempotency-Key": uid("idem")}), order)
    assert snapshot(api, user, [item], order) == (0, {item: 4}, True)
