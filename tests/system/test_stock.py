"""Stock endpoints (DESIGN §3): success shapes and values, and every error status."""

from wdmtest import MAX, ID_RE, expect_error, expect_ok, is_int, uid


def test_create_and_find(api):
    body = expect_ok(api.post("/stock/item/create/42"), {"item_id"})
    item = body["item_id"]
    assert isinstance(item, str) and ID_RE.match(item)
    found = api.item(item)
    assert found == {"stock": 0, "price": 42}
    assert is_int(found["stock"]) and is_int(found["price"])


def test_create_gives_distinct_ids(api):
    ids = {api.new_item(1) for _ in range(5)}
    assert len(ids) == 5


def test_price_zero_and_exactly_2_pow_53_allowed(api):
    assert api.item(api.new_item(0)) == {"stock": 0, "price": 0}
    assert api.item(api.new_item(MAX)) == {"stock": 0, "price": MAX}


def test_price_above_2_pow_53_rejected(api):
    expect_error(api.post(f"/stock/item/create/{MAX + 1}"), 400)
    expect_error(api.post("/stock/item/create/-1"), 400)
    expect_error(api.post("/stock/item/create/abc"), 400)


def test_add(api):
    item = api.new_item(7)
    assert expect_ok(api.post(f"/stock/add/{item}/5"), {"item_id", "stock"}) == {"item_id": item, "stock": 5}
    assert expect_ok(api.post(f"/stock/add/{item}/10")) == {"item_id": item, "stock": 15}
    assert api.item(item) == {"stock": 15, "price": 7}


def test_subtract(api):
    item = api.new_item(3, stock=10)
    assert expect_ok(api.post(f"/stock/subtract/{item}/4"), {"item_id", "stock"}) == {"item_id": item, "stock": 6}
    assert expect_ok(api.post(f"/stock/subtract/{item}/6")) == {"item_id": item, "stock": 0}
    assert api.item(item) == {"stock": 0, "price": 3}


def test_subtract_more_than_stock_409_nothing_changes(api):
    item = api.new_item(3, stock=5)
    expect_error(api.post(f"/stock/subtract/{item}/6"), 409)
    assert api.item(item) == {"stock": 5, "price": 3}
    empty = api.new_item(3)
    expect_error(api.post(f"/stock/subtract/{empty}/1"), 409)
    assert api.item(empty) == {"stock": 0, "price": 3}


def test_unknown_item_404(api):
    nx = uid("nx")
    expect_error(api.get(f"/stock/find/{nx}"), 404)
    expect_error(api.post(f"/stock/add/{nx}/1"), 404)
    expect_error(api.post(f"/stock/subtract/{nx}/1"), 404)
    # and the failed add did not create it
    expect_error(api.get(f"/stock/find/{nx}"), 404)


def test_amount_zero_400(api):
    item = api.new_item(3, stock=5)
    expect_error(api.post(f"/stock/add/{item}/0"), 400)
    expect_error(api.post(f"/stock/subtract/{item}/0"), 400)
    assert api.item(item) == {"stock": 5, "price": 3}


def test_add_overflow_400_unchanged(api):
    item = api.new_item(1)
    assert expect_ok(api.post(f"/stock/add/{item}/{MAX}"))["stock"] == MAX   # exactly 2^53 is allowed
    expect_error(api.post(f"/stock/add/{item}/1"), 400)
    assert api.item(item)["stock"] == MAX
    other = api.new_item(1, stock=10)
    expect_error(api.post(f"/stock/add/{other}/{MAX - 9}"), 400)             # 10 + 2^53 - 9 > 2^53
    assert api.item(other)["stock"] == 10
    assert expect_ok(api.post(f"/stock/add/{other}/{MAX - 10}"))["stock"] == MAX
