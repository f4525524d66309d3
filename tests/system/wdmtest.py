"""Helpers shared by the system tests: a small client for the REST API (DESIGN.md §3) and
assertions for its success and error shapes."""

import asyncio
import collections
import http.client
import json
import re
import socket
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import aiohttp
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from consistency import decode_body  # noqa: E402  bench/consistency.py, shared with the bench

MAX = 2**53              # largest amount/price/quantity/balance the API accepts
TIMEOUT = 30             # seconds; any request slower than this counts as a hang
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uid(prefix="t"):
    """A fresh id nobody else uses (valid: [A-Za-z0-9_-], well under 64 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def content_type(resp):
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def expect_ok(resp, keys=None):
    """200 with a JSON object body (exactly `keys` when given). Returns the object."""
    assert resp.status_code == 200, f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:300]!r}"
    assert content_type(resp) == "application/json", f"{resp.url}: Content-Type {resp.headers.get('Content-Type')!r}"
    body = resp.json()
    assert isinstance(body, dict), body
    if keys is not None:
        assert set(body) == set(keys), f"{resp.url}: keys {sorted(body)} != {sorted(keys)}"
    return body


def expect_error(resp, status):
    """`status` with a one-line JSON body {"error": "..."}. Returns the message."""
    assert resp.status_code == status, \
        f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code} {resp.text[:300]!r}"
    assert content_type(resp) == "application/json", f"{resp.url}: Content-Type {resp.headers.get('Content-Type')!r}"
    text = resp.text.strip()
    assert "\n" not in text, f"error body is not one line: {text!r}"
    body = json.loads(text)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


class Api:
    """Sequential client over one keep-alive session."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.s = requests.Session()

    def req(self, method, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return self.s.request(method, self.base + path, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    # ---- entities ----
    def new_item(self, price=10, stock=0):
        body = expect_ok(self.post(f"/stock/item/create/{price}"), {"item_id"})
        item = body["item_id"]
        assert isinstance(item, str) and ID_RE.match(item), body
        if stock:
            expect_ok(self.post(f"/stock/add/{item}/{stock}"))
        return item

    def item(self, item_id):
        return expect_ok(self.get(f"/stock/find/{item_id}"), {"stock", "price"})

    def new_user(self, credit=0):
        body = expect_ok(self.post("/payment/create_user"), {"user_id"})
        user = body["user_id"]
        assert isinstance(user, str) and ID_RE.match(user), body
        if credit:
            expect_ok(self.post(f"/payment/add_funds/{user}/{credit}"))
        return user

    def credit(self, user_id):
        body = expect_ok(self.get(f"/payment/find_user/{user_id}"), {"user_id", "credit"})
        return body["credit"]

    def new_order(self, user_id=None):
        if user_id is None:
            user_id = self.new_user()
        body = expect_ok(self.post(f"/orders/create/{user_id}"), {"order_id"})
        order = body["order_id"]
        assert isinstance(order, str) and ID_RE.match(order), body
        return order

    def new_orders(self, user_id, item_id, n, qty=1):
        """n new orders of user_id, each with one line: qty of item_id."""
        orders = []
        for _ in range(n):
            order = self.new_order(user_id)
            expect_ok(self.post(f"/orders/addItem/{order}/{item_id}/{qty}"))
            orders.append(order)
        return orders

    def order(self, order_id):
        return expect_ok(self.get(f"/orders/find/{order_id}"),
                         {"order_id", "paid", "items", "user_id", "total_cost"})


# ---- many requests at once (aiohttp) ----

Answer = collections.namedtuple("Answer", "status ctype body")
Answer.__doc__ = """status None when no answer came (body then says why); body is the decoded
JSON when the answer was JSON, else its text."""


async def _concurrently(base, reqs, concurrency, timeout):
    conn = aiohttp.TCPConnector(limit=concurrency)
    tmo = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout)
    async with aiohttp.ClientSession(connector=conn, timeout=tmo) as s:
        start = asyncio.Event()

        async def one(rq):
            if isinstance(rq, str):
                rq = {"path": rq}
            await start.wait()
            if rq.get("delay"):
                await asyncio.sleep(rq["delay"])
            try:
                async with s.request(rq.get("method", "POST"), base.rstrip("/") + rq["path"],
                                     headers=rq.get("headers")) as r:
                    ctype = r.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    return Answer(r.status, ctype, decode_body(await r.read()))
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                return Answer(None, "", f"{type(e).__name__}: {e}")

        tasks = [asyncio.ensure_future(one(rq)) for rq in reqs]
        await asyncio.sleep(0)      # all of them wait at the start line, then go together
        start.set()
        return await asyncio.gather(*tasks)


def concurrently(base, reqs, concurrency=100, timeout=120):
    """Sends every request at once over up to `concurrency` connections; returns their
    Answers in order. A request is a path (POST) or a dict {path, method="POST",
    headers=None, delay=0.0 (seconds after the common start)}."""
    return asyncio.run(_concurrently(base, list(reqs), concurrency, timeout))


# ---- raw HTTP: exact paths (requests/urllib3 normalise "." segments), bytes on a socket ----

class RawResponse:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


def _hostport(base):
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port or 80


def raw_request(base, method, path, headers=None, body=None, timeout=TIMEOUT):
    """One request with the path sent byte for byte, on a fresh connection."""
    host, port = _hostport(base)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None or method in ("POST", "PUT"):
            hdrs.setdefault("Content-Length", str(len(body or b"")))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer (413) and close before reading it all
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def raw_bytes(base, data, timeout=10.0, shut_write=False):
    """Sends bytes, reads until the server closes or `timeout`. Returns (bytes, closed)."""
    host, port = _hostport(base)
    s = socket.create_connection((host, port), timeout=timeout)
    out = b""
    closed = False
    deadline = time.monotonic() + timeout
    try:
        try:
            s.sendall(data)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return out, True
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
            if b"\r\n\r\n" in out and not shut_write and _complete(out):
                break
    finally:
        s.close()
    return out, closed


def _complete(buf):
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is not None and len(rest) >= int(m.group(1))
