"""`Accept: application/x-protobuf` (DESIGN §3): the same API, answered with the messages of
proto/api.proto; failures answer a wdm.Error."""

from wdmtest import content_type, expect_ok, uid

PB = {"Accept": "application/x-protobuf"}


def _parse(resp, cls, status=200):
    assert resp.status_code == status, (resp.status_code, resp.content[:200])
    assert content_type(resp) == "application/x-protobuf", resp.headers.get("Content-Type")
    msg = cls()
    msg.ParseFromString(resp.content)
    return msg


def test_find_item(api, pb):
    item = api.new_item(4242, stock=17)
    msg = _parse(api.get(f"/stock/find/{item}", headers=PB), pb.ItemReply)
    assert (msg.stock, msg.price) == (17, 4242)
    # and the same request without the header is still JSON
    assert api.item(item) == {"stock": 17, "price": 4242}


def test_find_unknown_is_error_message(api, pb):
    msg = _parse(api.get(f"/stock/find/{uid('nx')}", headers=PB), pb.Error, 404)
    assert msg.error


def test_bad_request_is_error_message(api, pb):
    msg = _parse(api.post("/stock/item/create/abc", headers=PB), pb.Error, 400)
    assert msg.error


def test_create_and_change(api, pb):
    created = _parse(api.post("/stock/item/create/5", headers=PB), pb.ItemIdReply)
    assert created.item_id
    assert api.item(created.item_id) == {"stock": 0, "price": 5}
    added = _parse(api.post(f"/stock/add/{created.item_id}/9", headers=PB), pb.StockReply)
    assert (added.item_id, added.stock) == (created.item_id, 9)
    sub = _parse(api.post(f"/stock/subtract/{created.item_id}/4", headers=PB), pb.StockReply)
    assert (sub.item_id, sub.stock) == (created.item_id, 5)
    err = _parse(api.post(f"/stock/subtract/{created.item_id}/6", headers=PB), pb.Error, 409)
    assert err.error


def test_payment(api, pb):
    user = _parse(api.post("/payment/create_user", headers=PB), pb.UserIdReply).user_id
    assert user
    funds = _parse(api.post(f"/payment/add_funds/{user}/30", headers=PB), pb.AddFundsReply)
    assert funds.done is True and funds.credit == 30
    paid = _parse(api.post(f"/payment/pay/{user}/10", headers=PB), pb.UserReply)
    assert (paid.user_id, paid.credit) == (user, 20)
    found = _parse(api.get(f"/payment/find_user/{user}", headers=PB), pb.UserReply)
    assert (found.user_id, found.credit) == (user, 20)


def test_orders(api, pb):
    user = api.new_user()
    a, b = api.new_item(3), api.new_item(8)
    order = _parse(api.post(f"/orders/create/{user}", headers=PB), pb.OrderIdReply).order_id
    assert order
    r = _parse(api.post(f"/orders/addItem/{order}/{a}/2", headers=PB), pb.AddItemReply)
    assert (r.order_id, r.total_cost) == (order, 6)
    expect_ok(api.post(f"/orders/addItem/{order}/{b}/1"))
    expect_ok(api.post(f"/orders/addItem/{order}/{a}/1"))
    o = _parse(api.get(f"/orders/find/{order}", headers=PB), pb.OrderReply)
    assert o.order_id == order and o.user_id == user and o.paid is False and o.total_cost == 17
    assert sorted((line.item_id, line.quantity) for line in o.items) == sorted([(a, 3), (b, 1)])
