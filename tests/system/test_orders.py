"""Order endpoints (DESIGN §3): success shapes and values, and every error status."""

from wdmtest import MAX, ID_RE, expect_error, expect_ok, is_int, uid


def test_create_and_find(api):
    user = api.new_user()
    body = expect_ok(api.post(f"/orders/create/{user}"), {"order_id"})
    order = body["order_id"]
    assert isinstance(order, str) and ID_RE.match(order)
    found = api.order(order)
    assert found == {"order_id": order, "paid": False, "items": [], "user_id": user, "total_cost": 0}
    assert found["paid"] is False and is_int(found["total_cost"])


def test_create_gives_distinct_ids(api):
    user = api.new_user()
    assert len({api.new_order(user) for _ in range(5)}) == 5


def test_add_item_sums_per_item(api):
    a = api.new_item(7)
    b = api.new_item(11)
    order = api.new_order()
    assert expect_ok(api.post(f"/orders/addItem/{order}/{a}/2"), {"order_id", "total_cost"}) == \
        {"order_id": order, "total_cost": 14}
    assert expect_ok(api.post(f"/orders/addItem/{order}/{b}/1")) == {"order_id": order, "total_cost": 25}
    assert expect_ok(api.post(f"/orders/addItem/{order}/{a}/3")) == {"order_id": order, "total_cost": 46}
    found = api.order(order)
    assert found["total_cost"] == 5 * 7 + 1 * 11
    assert found["paid"] is False
    items = found["items"]
    assert isinstance(items, list) and all(isinstance(line, list) and len(line) == 2 for line in items), items
    assert sorted(map(tuple, items)) == sorted([(a, 5), (b, 1)])
    assert all(is_int(q) for _, q in items)


def test_add_item_price_zero(api):
    free = api.new_item(0)
    order = api.new_order()
    assert expect_ok(api.post(f"/orders/addItem/{order}/{free}/4")) == {"order_id": order, "total_cost": 0}
    assert api.order(order)["items"] == [[free, 4]]


def test_create_unknown_user_404(api):
    expect_error(api.post(f"/orders/create/{uid('nx')}"), 404)


def test_find_unknown_order_404(api):
    expect_error(api.get(f"/orders/find/{uid('nx')}"), 404)


def test_add_item_unknown_order_404(api):
    item = api.new_item(5)
    nx = uid("nx")
    expect_error(api.post(f"/orders/addItem/{nx}/{item}/1"), 404)
    expect_error(api.get(f"/orders/find/{nx}"), 404)


def test_add_item_unknown_item_404_unchanged(api):
    item = api.new_item(5)
    order = api.new_order()
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    before = api.order(order)
    expect_error(api.post(f"/orders/addItem/{order}/{uid('nx')}/1"), 404)
    assert api.order(order) == before


def test_add_item_quantity_zero_400_unchanged(api):
    item = api.new_item(5)
    order = api.new_order()
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    before = api.order(order)
    expect_error(api.post(f"/orders/addItem/{order}/{item}/0"), 400)
    expect_error(api.post(f"/orders/addItem/{order}/{item}/-1"), 400)
    assert api.order(order) == before


def test_add_item_total_overflow_rejected_unchanged(api):
    pricey = api.new_item(MAX)
    order = api.new_order()
    assert expect_ok(api.post(f"/orders/addItem/{order}/{pricey}/1"))["total_cost"] == MAX
    before = api.order(order)
    r = api.post(f"/orders/addItem/{order}/{pricey}/1")     # total would be 2^54
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert api.order(order) == before


def test_checkout_existing_order(api):
    # DESIGN §3: 200 {"order_id", "paid": true} with the stock and the credit taken.
    # The rest of checkout (409, repeats, concurrency, consistency) is in test_checkout.py.
    user = api.new_user(100)
    item = api.new_item(5, stock=10)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    body = expect_ok(api.post(f"/orders/checkout/{order}"), {"order_id", "paid"})
    assert body == {"order_id": order, "paid": True}
    assert api.order(order) == {"order_id": order, "paid": True, "items": [[item, 1]], "user_id": user,
                                "total_cost": 5}
    assert api.credit(user) == 95
    assert api.item(item)["stock"] == 9


def test_checkout_unknown_order_404(api):
    expect_error(api.post(f"/orders/checkout/{uid('nx')}"), 404)
