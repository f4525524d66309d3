"""Keep-alive connections and early answers (issue 14).

A client that reuses an idle keep-alive connection must get its answer: the gateway keeps
an idle connection longer than common client pools do (aiohttp 15 s, urllib3 until the
server closes) and says how long in every keep-alive answer (`Keep-Alive: timeout=N`).
An answer the gateway sends before it has read the whole request (413 for a body over
the limit, 400 for a bad request line) reaches a client that sends everything before it
reads: the gateway reads and discards the rest before it closes (a lingering close)."""

import concurrent.futures
import http.client
import re
import socket
import time

import pytest

from wdmtest import _hostport, expect_ok

IDLE_S = (9, 16, 45)          # seconds idle before the second request
MIN_ADVERTISED_S = 60         # the floor for the idle timeout
BIG_BODY = 8 * 1024 * 1024    # well over the 64 KiB request limit
TRIES = 20


def keep_alive_timeout(headers):
    """N of a `Keep-Alive: timeout=N` header in a {lowercase name: value} dict, or None."""
    m = re.search(r"(?:^|,)\s*timeout=(\d+)", headers.get("keep-alive", ""))
    return int(m.group(1)) if m else None


def answer(conn, method, path):
    """One request on conn (kept open); returns (status, {header: value}, body)."""
    conn.request(method, path, headers={"Content-Length": "0"} if method == "POST" else {})
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def idle_then_post(base, idle_s):
    """Two POSTs on one connection with idle_s seconds between them. Returns, for each,
    (status, advertised timeout, local address of the socket that carried it)."""
    host, port = _hostport(base)
    conn = http.client.HTTPConnection(host, port, timeout=idle_s + 30)
    out = []
    try:
        for i in range(2):
            if i:
                time.sleep(idle_s)
            status, headers, _ = answer(conn, "POST", "/payment/create_user")
            out.append((status, keep_alive_timeout(headers), conn.sock.getsockname()))
    finally:
        conn.close()
    return out


def test_every_keep_alive_answer_advertises_the_idle_timeout(base_url, api):
    host, port = _hostport(base_url)
    user = api.new_user(1)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    seen = {}
    try:
        for method, path in [("GET", "/health"), ("POST", "/payment/create_user"),
                             ("GET", f"/payment/find_user/{user}"),
                             ("GET", "/payment/find_user/no-such-user"),          # 404
                             ("POST", "/payment/add_funds/x/-1"),                 # 400
                             ("GET", "/payment/add_funds/x/1"),                   # 405
                             ("POST", f"/payment/pay/{user}/1000"),               # 409
                             ("GET", "/nowhere")]:
            status, headers, _ = answer(conn, method, path)
            seen[(method, path)] = status
            n = keep_alive_timeout(headers)
            assert headers.get("connection", "").lower() != "close", (method, path, headers)
            assert n is not None and n >= MIN_ADVERTISED_S, (method, path, status, headers)
    finally:
        conn.close()
    assert sorted(set(seen.values())) == [200, 400, 404, 405, 409], seen


def test_a_connection_idle_9_16_and_45_seconds_still_serves_a_post(base_url):
    with concurrent.futures.ThreadPoolExecutor(len(IDLE_S)) as pool:
        results = dict(zip(IDLE_S, pool.map(lambda s: idle_then_post(base_url, s), IDLE_S)))
    for idle_s, ((s1, n1, addr1), (s2, n2, addr2)) in results.items():
        assert (s1, s2) == (200, 200), (idle_s, results[idle_s])
        assert n1 is not None and n1 > idle_s, (idle_s, n1)
        assert addr1 == addr2, f"idle {idle_s} s: the second POST went on a new connection"


def send_all_then_read(base, head, body):
    """Sends head and body in full, and only then reads; returns the status line, or
    raises what the socket raised (a reset is what a client must never see here)."""
    host, port = _hostport(base)
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(head + body)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0].decode(errors="replace")


@pytest.mark.parametrize("kind", ["too-large", "bad-request-line"])
def test_an_early_answer_reaches_a_client_that_sends_everything_first(base_url, kind):
    body = b"x" * BIG_BODY
    if kind == "too-large":
        head = (f"POST /stock/item/create/1 HTTP/1.1\r\nHost: t\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        want = " 413 "
    else:
        head = b"\x01NOT HTTP\r\n\r\n"
        want = " 400 "
    tries = TRIES if kind == "too-large" else 5
    lines = []
    for _ in range(tries):
        try:
            lines.append(send_all_then_read(base_url, head, body))
        except (ConnectionResetError, BrokenPipeError) as e:
            lines.append(repr(e))
    assert all(want in line for line in lines), lines


def test_the_gateway_still_serves_after_early_answers(api):
    expect_ok(api.get("/health"))
