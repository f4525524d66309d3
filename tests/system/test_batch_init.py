"""batch_init endpoints (DESIGN §3): ids "0".."n-1", values, speed, and bad arguments.

These write the fixed ids "0".."n-1"; each test checks right after its own batch_init."""

import time

from wdmtest import expect_error, expect_ok

N = 100_000


def test_stock_batch_init_100k(api):
    t0 = time.monotonic()
    r = api.post(f"/stock/batch_init/{N}/7/13", timeout=60)
    elapsed = time.monotonic() - t0
    body = expect_ok(r, {"msg"})
    assert isinstance(body["msg"], str)
    assert elapsed < 10.0, f"stock batch_init of {N} items took {elapsed:.1f}s"
    assert api.item("0") == {"stock": 7, "price": 13}
    assert api.item(str(N - 1)) == {"stock": 7, "price": 13}
    assert api.item("5000") == {"stock": 7, "price": 13}
    expect_error(api.get(f"/stock/find/{N}"), 404)


def test_payment_batch_init_100k(api):
    t0 = time.monotonic()
    r = api.post(f"/payment/batch_init/{N}/55", timeout=60)
    elapsed = time.monotonic() - t0
    body = expect_ok(r, {"msg"})
    assert isinstance(body["msg"], str)
    assert elapsed < 10.0, f"payment batch_init of {N} users took {elapsed:.1f}s"
    for u in ("0", str(N - 1), "777"):
        assert expect_ok(api.get(f"/payment/find_user/{u}"), {"user_id", "credit"}) == {"user_id": u, "credit": 55}
    expect_error(api.get(f"/payment/find_user/{N}"), 404)


def test_orders_batch_init(api):
    n, n_items, n_users, price = 1000, 50, 20, 9
    body = expect_ok(api.post(f"/orders/batch_init/{n}/{n_items}/{n_users}/{price}", timeout=60), {"msg"})
    assert isinstance(body["msg"], str)
    items_range = {str(i) for i in range(n_items)}
    users_range = {str(i) for i in range(n_users)}
    for oid in ("0", "1", "500", str(n - 1)):
        o = api.order(oid)
        assert o["order_id"] == oid
        assert o["paid"] is False
        assert o["total_cost"] == 2 * price
        assert o["user_id"] in users_range, o
        lines = o["items"]
        assert all(isinstance(line, list) and len(line) == 2 for line in lines), lines
        assert all(i in items_range for i, _ in lines), lines
        assert sorted(q for _, q in lines) in ([1, 1], [2]), lines
        if len(lines) == 2:
            assert lines[0][0] != lines[1][0], f"same item on two lines: {lines}"


def test_batch_init_bad_arguments_400(api):
    for path in ("/stock/batch_init/abc/1/1", "/stock/batch_init/1/-1/1", "/stock/batch_init/1/1/1.5",
                 "/payment/batch_init/x/1", "/payment/batch_init/1/-5",
                 "/orders/batch_init/a/1/1/1", "/orders/batch_init/1/1/1/-1"):
        expect_error(api.post(path), 400)
