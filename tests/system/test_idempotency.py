"""Idempotency-Key header (DESIGN §3): a retry with the same key gets the first answer and
is applied once; a malformed key is a 400 that changes nothing."""

import pytest

from wdmtest import expect_error, expect_ok, uid


def _key():
    return uid("idem")


def test_add_funds_same_key_applied_once(api):
    user = api.new_user(10)
    key = _key()
    r1 = api.post(f"/payment/add_funds/{user}/5", headers={"Idempotency-Key": key})
    r2 = api.post(f"/payment/add_funds/{user}/5", headers={"Idempotency-Key": key})
    b1, b2 = expect_ok(r1, {"done", "credit"}), expect_ok(r2, {"done", "credit"})
    assert b1 == b2 == {"done": True, "credit": 15}
    assert api.credit(user) == 15
    # a different key is a different request: applied again
    b3 = expect_ok(api.post(f"/payment/add_funds/{user}/5", headers={"Idempotency-Key": _key()}))
    assert b3 == {"done": True, "credit": 20}
    assert api.credit(user) == 20
    # the first key still answers its first answer, unchanged balance
    assert expect_ok(api.post(f"/payment/add_funds/{user}/5", headers={"Idempotency-Key": key})) == b1
    assert api.credit(user) == 20


def test_no_key_applies_every_time(api):
    user = api.new_user()
    api.post(f"/payment/add_funds/{user}/5")
    api.post(f"/payment/add_funds/{user}/5")
    assert api.credit(user) == 10


def test_pay_same_key_applied_once(api):
    user = api.new_user(10)
    key = _key()
    b1 = expect_ok(api.post(f"/payment/pay/{user}/4", headers={"Idempotency-Key": key}))
    b2 = expect_ok(api.post(f"/payment/pay/{user}/4", headers={"Idempotency-Key": key}))
    assert b1 == b2 == {"user_id": user, "credit": 6}
    assert api.credit(user) == 6


def test_subtract_same_key_applied_once(api):
    item = api.new_item(2, stock=10)
    key = _key()
    b1 = expect_ok(api.post(f"/stock/subtract/{item}/3", headers={"Idempotency-Key": key}))
    b2 = expect_ok(api.post(f"/stock/subtract/{item}/3", headers={"Idempotency-Key": key}))
    assert b1 == b2 == {"item_id": item, "stock": 7}
    assert api.item(item)["stock"] == 7


def test_create_user_same_key_creates_one(api):
    key = _key()
    b1 = expect_ok(api.post("/payment/create_user", headers={"Idempotency-Key": key}), {"user_id"})
    b2 = expect_ok(api.post("/payment/create_user", headers={"Idempotency-Key": key}), {"user_id"})
    assert b1 == b2


def test_add_item_same_key_applied_once(api):
    item = api.new_item(4)
    order = api.new_order()
    key = _key()
    b1 = expect_ok(api.post(f"/orders/addItem/{order}/{item}/2", headers={"Idempotency-Key": key}))
    b2 = expect_ok(api.post(f"/orders/addItem/{order}/{item}/2", headers={"Idempotency-Key": key}))
    assert b1 == b2 == {"order_id": order, "total_cost": 8}
    assert api.order(order)["items"] == [[item, 2]]


@pytest.mark.parametrize("key", ["k" * 200, "has space", "tab\there"], ids=["200chars", "space", "tab"])
def test_invalid_key_400_nothing_changed(api, key):
    user = api.new_user(10)
    expect_error(api.post(f"/payment/add_funds/{user}/5", headers={"Idempotency-Key": key}), 400)
    assert api.credit(user) == 10
    item = api.new_item(1, stock=3)
    expect_error(api.post(f"/stock/subtract/{item}/1", headers={"Idempotency-Key": key}), 400)
    assert api.item(item)["stock"] == 3
