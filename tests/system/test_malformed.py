"""Malformed requests (DESIGN §3: "anything else is a 400 ... never a crash, never a 5xx").

Every one must get a 4xx quickly and change nothing: each test reads the entities back.
Paths are sent byte for byte (http.client), since requests/urllib3 would normalise them."""

import pytest

from wdmtest import MAX, expect_ok, raw_bytes, raw_request

T = 10  # seconds: slower than this is a hang


@pytest.fixture(scope="module")
def ents(api):
    item = api.new_item(5, stock=10)
    user = api.new_user(10)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/1"))
    return {"item": item, "user": user, "order": order}


def snapshot(api, e):
    return (api.item(e["item"]), api.credit(e["user"]), api.order(e["order"]))


def send(base, method, path, **kw):
    kw.setdefault("timeout", T)
    return raw_request(base, method, path, **kw)


def assert_4xx(r, what, exact=None):
    if exact is not None:
        assert r.status == exact, f"{what}: expected {exact}, got {r!r}"
    assert 400 <= r.status < 500, f"{what}: expected 4xx, got {r!r}"


# ---- ids ----

ID_ROUTES = [
    ("GET", "/stock/find/{id}"),
    ("POST", "/stock/add/{id}/1"),
    ("POST", "/stock/subtract/{id}/1"),
    ("GET", "/payment/find_user/{id}"),
    ("POST", "/payment/add_funds/{id}/1"),
    ("POST", "/payment/pay/{id}/1"),
    ("POST", "/orders/create/{id}"),
    ("GET", "/orders/find/{id}"),
    ("POST", "/orders/addItem/{id}/{item}/1"),
    ("POST", "/orders/addItem/{order}/{id}/1"),
    ("POST", "/orders/checkout/{id}"),
]
ROUTE_IDS = [f"{m} {p}" for m, p in ID_ROUTES]

# The contract's answer for an id outside [A-Za-z0-9_-]{1,64} is 400.
IDS_400 = {
    "65chars": "a" * 65,
    "dot": "a.b",
    "unicode": "caf%C3%A9",
    "pct-space": "a%20b",
    "plus": "a+b",
    "star": "a*b",
    "quote": "a%22b",
}
# These touch path syntax ("/" once decoded, dot segments, bad escapes): any 4xx.
IDS_4XX = {
    "pct-slash": "a%2Fb",
    "dotdot": "..",
    "dot-only": ".",
    "bad-escape": "a%zzb",
    "pct-nul": "a%00b",
}


@pytest.mark.parametrize("method,route", ID_ROUTES, ids=ROUTE_IDS)
def test_bad_ids(api, base_url, ents, method, route):
    before = snapshot(api, ents)
    for name, bad in list(IDS_400.items()) + list(IDS_4XX.items()):
        path = route.format(id=bad, item=ents["item"], order=ents["order"])
        r = send(base_url, method, path)
        assert_4xx(r, f"{method} {path}", 400 if name in IDS_400 else None)
    assert snapshot(api, ents) == before


@pytest.mark.parametrize("method,route", ID_ROUTES, ids=ROUTE_IDS)
def test_64_char_id_is_valid_but_unknown(api, base_url, ents, method, route):
    before = snapshot(api, ents)
    path = route.format(id="Z" * 63 + "9", item=ents["item"], order=ents["order"])
    assert_4xx(send(base_url, method, path), f"{method} {path}", 404)
    assert snapshot(api, ents) == before


# ---- amounts ----

AMOUNT_ROUTES = [
    "/stock/add/{item}/{a}",
    "/stock/subtract/{item}/{a}",
    "/payment/add_funds/{user}/{a}",
    "/payment/pay/{user}/{a}",
    "/orders/addItem/{order}/{item}/{a}",
    "/stock/item/create/{a}",
]
BAD_AMOUNTS = {
    "negative": "-1",
    "minus-zero": "-0",
    "2^53+1": str(MAX + 1),
    "30digits": "9" * 30,
    "abc": "abc",
    "1e3": "1e3",
    "1.5": "1.5",
    "plus1": "+1",
    "space1": "%201",
    "1space": "1%20",
    "hex": "0x10",
    "fullwidth": "%EF%BC%91",
    "2^64": str(2**64),
}


@pytest.mark.parametrize("route", AMOUNT_ROUTES, ids=[r.split("/")[2] for r in AMOUNT_ROUTES])
def test_bad_amounts_400(api, base_url, ents, route):
    before = snapshot(api, ents)
    for bad in BAD_AMOUNTS.values():
        path = route.format(a=bad, **ents)
        assert_4xx(send(base_url, "POST", path), f"POST {path}", 400)
    assert snapshot(api, ents) == before


# ---- routes and methods ----

@pytest.mark.parametrize("method,path", [
    ("GET", "/"),
    ("GET", "/nope"),
    ("GET", "/stock"),
    ("GET", "/stock/nope/x"),
    ("POST", "/stock/item/nope/1"),
    ("GET", "/STOCK/find/x"),
    ("GET", "/payment/find/x"),
    ("POST", "/orders/nope/x"),
    ("GET", "/healthz"),
])
def test_unknown_routes_404(base_url, method, path):
    assert_4xx(send(base_url, method, path), f"{method} {path}", 404)


WRONG_METHODS = [
    ("GET", "/stock/add/{item}/1"),
    ("GET", "/stock/subtract/{item}/1"),
    ("GET", "/stock/item/create/1"),
    ("GET", "/stock/batch_init/1/1/1"),
    ("GET", "/payment/create_user"),
    ("GET", "/payment/add_funds/{user}/1"),
    ("GET", "/payment/pay/{user}/1"),
    ("GET", "/orders/create/{user}"),
    ("GET", "/orders/addItem/{order}/{item}/1"),
    ("GET", "/orders/checkout/{order}"),
    ("POST", "/stock/find/{item}"),
    ("POST", "/payment/find_user/{user}"),
    ("POST", "/orders/find/{order}"),
    ("PUT", "/stock/add/{item}/1"),
    ("DELETE", "/stock/find/{item}"),
    ("PATCH", "/payment/add_funds/{user}/1"),
]


@pytest.mark.parametrize("method,route", WRONG_METHODS, ids=[f"{m} {r}" for m, r in WRONG_METHODS])
def test_wrong_method_405(api, base_url, ents, method, route):
    before = snapshot(api, ents)
    path = route.format(**ents)
    assert_4xx(send(base_url, method, path), f"{method} {path}", 405)
    assert snapshot(api, ents) == before


def test_post_health_4xx(base_url):
    assert_4xx(send(base_url, "POST", "/health"), "POST /health")


SHAPE_ERRORS = [
    # missing segments
    ("POST", "/stock/add/{item}"),
    ("POST", "/stock/add/{item}/"),
    ("POST", "/stock/add//1"),
    ("GET", "/stock/find"),
    ("GET", "/stock/find/"),
    ("POST", "/stock/item/create"),
    ("POST", "/stock/item/create/"),
    ("POST", "/payment/add_funds/{user}"),
    ("POST", "/payment/pay/{user}/"),
    ("POST", "/orders/addItem/{order}/{item}"),
    ("POST", "/orders/addItem/{order}"),
    ("POST", "/orders/addItem/{order}//1"),
    ("POST", "/orders/create"),
    ("POST", "/orders/create/"),
    ("POST", "/stock/batch_init/10/1"),
    ("POST", "/orders/batch_init/1/1/1"),
    # extra segments
    ("GET", "/stock/find/{item}/x"),
    ("POST", "/stock/add/{item}/1/2"),
    ("POST", "/payment/pay/{user}/1/x"),
    ("POST", "/orders/addItem/{order}/{item}/1/1"),
    ("POST", "/orders/checkout/{order}/x"),
    # trailing slash
    ("GET", "/stock/find/{item}/"),
    ("POST", "/stock/add/{item}/1/"),
    ("POST", "/payment/add_funds/{user}/1/"),
    ("POST", "/orders/addItem/{order}/{item}/1/"),
    ("GET", "/orders/find/{order}/"),
]


@pytest.mark.parametrize("method,route", SHAPE_ERRORS, ids=[f"{m} {r}" for m, r in SHAPE_ERRORS])
def test_missing_extra_trailing_segments_4xx(api, base_url, ents, method, route):
    before = snapshot(api, ents)
    path = route.format(**ents)
    assert_4xx(send(base_url, method, path), f"{method} {path}")
    assert snapshot(api, ents) == before


# ---- bodies and headers ----

def test_oversized_body_4xx(api, base_url, ents):
    before = snapshot(api, ents)
    path = f"/stock/add/{ents['item']}/1"
    r = send(base_url, "POST", path, body=b"x" * (1 << 20), headers={"Content-Type": "application/json"}, timeout=30)
    assert_4xx(r, f"POST {path} with a 1 MiB body")
    assert snapshot(api, ents) == before
    assert api.get("/health").status_code == 200


def _consistent(api, ents, before, r, what):
    """A POST /stock/add/{item}/1 answered r: either applied (200, once) or nothing changed."""
    assert r.status < 500, f"{what}: {r!r}"
    after = snapshot(api, ents)
    if r.status == 200:
        assert after[0]["stock"] == before[0]["stock"] + 1, what
        assert after[1:] == before[1:]
    else:
        assert after == before, what
    return after


@pytest.mark.parametrize("accept", ["garbage", "}{;;q=zz,,", "text/html", "application/x-nonsense", "*/*;q=abc"])
def test_garbage_accept_still_answered(api, base_url, ents, accept):
    r = send(base_url, "GET", f"/stock/find/{ents['item']}", headers={"Accept": accept})
    assert r.status < 500 and r.body, f"Accept {accept!r}: {r!r}"
    before = snapshot(api, ents)
    r = send(base_url, "POST", f"/stock/add/{ents['item']}/1", headers={"Accept": accept})
    _consistent(api, ents, before, r, f"Accept {accept!r}")


@pytest.mark.parametrize("ctype,body", [
    ("garbage", b""),
    ("x/y;;=;", b"zzz"),
    ("application/json", b"{not json"),
    ("application/json", b"\xff\xfe\x00"),
    ("application/x-protobuf", b"\xff\xff\xff\xff\xff"),
    ("application/x-protobuf", b"\x08"),
], ids=["garbage-empty", "junk", "bad-json", "binary-json", "bad-protobuf", "truncated-protobuf"])
def test_garbage_content_type_still_answered(api, base_url, ents, ctype, body):
    before = snapshot(api, ents)
    r = send(base_url, "POST", f"/stock/add/{ents['item']}/1", headers={"Content-Type": ctype}, body=body)
    _consistent(api, ents, before, r, f"Content-Type {ctype!r} body {body!r}")


# ---- raw bytes on a socket ----

RAW = {
    "garbage-line": (b"GARBAGE\r\n\r\n", False),
    "binary": (b"\x00\xff\xfe\x16\x03\x01 junk\r\n\r\n", False),
    "method-only": (b"GET\r\n\r\n", False),
    "bad-version": (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", False),
    "header-no-colon": (b"GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", False),
    "space-in-path": (b"GET /stock/find/a b HTTP/1.1\r\nHost: x\r\n\r\n", False),
    "bad-content-length": (b"POST /payment/create_user HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", False),
    "negative-content-length": (b"POST /payment/create_user HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", False),
    "huge-request-line": (b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", False),
    "truncated-body": (b"POST /payment/create_user HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab", True),
    "truncated-head": (b"GET /stock/find/x HTTP/1.1\r\nHo", True),
    "bad-chunked": (b"POST /payment/create_user HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", True),
}


@pytest.mark.parametrize("name", list(RAW))
def test_raw_malformed_http(api, base_url, name):
    data, shut = RAW[name]
    out, closed = raw_bytes(base_url, data, timeout=T, shut_write=shut)
    if out:
        line = out.split(b"\r\n", 1)[0]
        parts = line.split(b" ")
        assert len(parts) >= 2 and parts[0].startswith(b"HTTP/"), f"{name}: not an HTTP answer: {out[:200]!r}"
        status = int(parts[1])
        ok = range(400, 500) if name != "bad-version" else list(range(400, 500)) + [505]
        assert status in ok, f"{name}: answered {line!r}"
    else:
        assert closed, f"{name}: no answer and no close within {T}s (a hang)"
    r = api.get("/health")
    assert r.status_code == 200, f"after {name}: /health {r.status_code}"
