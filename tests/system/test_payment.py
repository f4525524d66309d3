"""Payment endpoints (DESIGN §3): success shapes and values, and every error status."""

from wdmtest import MAX, ID_RE, expect_error, expect_ok, is_int, uid


def test_create_and_find_user(api):
    body = expect_ok(api.post("/payment/create_user"), {"user_id"})
    user = body["user_id"]
    assert isinstance(user, str) and ID_RE.match(user)
    found = expect_ok(api.get(f"/payment/find_user/{user}"), {"user_id", "credit"})
    assert found == {"user_id": user, "credit": 0}
    assert is_int(found["credit"])


def test_create_user_gives_distinct_ids(api):
    assert len({api.new_user() for _ in range(5)}) == 5


def test_add_funds(api):
    user = api.new_user()
    body = expect_ok(api.post(f"/payment/add_funds/{user}/25"), {"done", "credit"})
    assert body == {"done": True, "credit": 25}
    assert body["done"] is True
    assert expect_ok(api.post(f"/payment/add_funds/{user}/5")) == {"done": True, "credit": 30}
    assert api.credit(user) == 30


def test_pay(api):
    user = api.new_user(100)
    assert expect_ok(api.post(f"/payment/pay/{user}/30"), {"user_id", "credit"}) == {"user_id": user, "credit": 70}
    assert expect_ok(api.post(f"/payment/pay/{user}/70")) == {"user_id": user, "credit": 0}
    assert api.credit(user) == 0


def test_pay_more_than_credit_409_nothing_changes(api):
    user = api.new_user(50)
    expect_error(api.post(f"/payment/pay/{user}/51"), 409)
    assert api.credit(user) == 50
    broke = api.new_user()
    expect_error(api.post(f"/payment/pay/{broke}/1"), 409)
    assert api.credit(broke) == 0


def test_unknown_user_404(api):
    nx = uid("nx")
    expect_error(api.get(f"/payment/find_user/{nx}"), 404)
    expect_error(api.post(f"/payment/add_funds/{nx}/1"), 404)
    expect_error(api.post(f"/payment/pay/{nx}/1"), 404)
    expect_error(api.get(f"/payment/find_user/{nx}"), 404)


def test_amount_zero_400(api):
    user = api.new_user(10)
    expect_error(api.post(f"/payment/add_funds/{user}/0"), 400)
    expect_error(api.post(f"/payment/pay/{user}/0"), 400)
    assert api.credit(user) == 10


def test_add_funds_overflow_400_unchanged(api):
    user = api.new_user()
    assert expect_ok(api.post(f"/payment/add_funds/{user}/{MAX}"))["credit"] == MAX
    expect_error(api.post(f"/payment/add_funds/{user}/1"), 400)
    assert api.credit(user) == MAX
    other = api.new_user(10)
    expect_error(api.post(f"/payment/add_funds/{other}/{MAX - 9}"), 400)
    assert api.credit(other) == 10
    expect_error(api.post(f"/payment/add_funds/{other}/{MAX + 1}"), 400)
    assert api.credit(other) == 10
