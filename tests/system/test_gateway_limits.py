"""The gateway's bounds (DESIGN §9): a cap on the calls it holds for services, past
which a request is answered 503 with Retry-After and nothing is sent on; and accepting
that pauses instead of spinning when the process is out of descriptors.

Each test starts a gateway of its own (our binary, on a port of its own) in front of the
test topology's services, with a small bound, and stops it at the end."""

import concurrent.futures
import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from wdmtest import concurrently, free_port

BUILD = Path(os.environ.get("WDM_BUILD_DIR", "build"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK       # utime + stime


@pytest.fixture
def own_gateway(topology_env, tmp_path):
    """start(max_calls=..., nofile=...) -> base URL of a gateway of our own."""
    procs = []

    def start(max_calls=4096, nofile=None):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WDM_")}
        env.update(WDM_GATEWAY_PORT=str(port), WDM_GATEWAY_THREADS="1",
                   WDM_GATEWAY_MAX_CALLS=str(max_calls),
                   **{k: topology_env[k] for k in ("WDM_STOCK_URLS", "WDM_PAYMENT_URLS",
                                                   "WDM_ORDER_URLS")})

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        log = open(tmp_path / f"gateway-{port}.log", "w")
        p = subprocess.Popen([str(BUILD / "gateway" / "gateway")], env=env, stdout=log,
                             stderr=subprocess.STDOUT, preexec_fn=limit)
        procs.append(p)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    return url, p
            except requests.RequestException:
                pass
            time.sleep(0.1)
        pytest.fail(f"the gateway on :{port} did not come up; see {log.name}")

    yield start
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            assert p.wait(timeout=15) == 0, "the gateway did not exit cleanly on TERM"
        except subprocess.TimeoutExpired:
            p.kill()
            raise


def test_past_the_call_cap_a_request_is_503_with_retry_after_and_changes_nothing(api, own_gateway):
    url, _ = own_gateway(max_calls=2)
    user = api.new_user(credit=1000)
    item = api.new_item(price=1, stock=1000)
    orders = api.new_orders(user, item, 40)
    answers = concurrently(url, [f"/orders/checkout/{o}" for o in orders], concurrency=40)
    statuses = [a.status for a in answers]
    assert statuses.count(503) > 0 and statuses.count(200) > 0, statuses
    assert set(statuses) <= {200, 503}, statuses
    paid = 0
    for order, a in zip(orders, answers):
        if a.status == 503:
            assert "retry" in str(a.body).lower(), a
            assert api.order(order)["paid"] is False, order
        else:
            paid += 1
    # Exactly the 200s were charged and took stock.
    assert api.credit(user) == 1000 - paid and api.item(item)["stock"] == 1000 - paid


def test_busy_answers_carry_retry_after(api, own_gateway):
    """A cap of one call: while a slow call (a checkout waiting for its saga) holds it,
    another request gets 503 with `Retry-After: 1`."""
    url, _ = own_gateway(max_calls=1)
    user = api.new_user(credit=100)
    item = api.new_item(price=1, stock=100)
    orders = api.new_orders(user, item, 30)
    seen = []
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        for r in pool.map(lambda o: requests.post(f"{url}/orders/checkout/{o}", timeout=30), orders):
            seen.append(r)
    busy = [r for r in seen if r.status_code == 503]
    assert busy, [r.status_code for r in seen]
    assert all(r.headers.get("Retry-After") == "1" for r in busy), [dict(r.headers) for r in busy]


def test_out_of_descriptors_accepting_pauses_and_recovers(own_gateway):
    """With 64 descriptors, 150 connections at once: the gateway cannot accept them all.
    It must not spin on its listener meanwhile (little CPU while they wait), it counts
    the pauses, and once they are gone it serves again."""
    url, p = own_gateway(nofile=64)
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    conns = []
    for _ in range(150):
        s = socket.socket()
        s.settimeout(5)
        s.connect((host, port))         # the kernel completes it; accept may not
        conns.append(s)
    cpu0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(2)
    used = cpu_seconds(p.pid) - cpu0
    wall = time.monotonic() - t0
    for s in conns:
        s.close()
    assert used < 0.5 * wall, f"the gateway used {used:.2f} s of CPU in {wall:.2f} s while out of descriptors"
    for _ in range(50):
        try:
            r = requests.get(url + "/metrics", timeout=2)
            if r.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    assert r.status_code == 200
    pauses = [ln for ln in r.text.splitlines() if ln.startswith("wdm_gateway_accept_pauses_total ")]
    assert pauses and int(pauses[0].split()[1]) > 0, pauses
    assert requests.get(url + "/health", timeout=5).status_code == 200


def test_no_cleartext_http2(base_url):
    """HTTP/2 is off (h2o 2.2.5 has no defence against rapid-reset floods): the HTTP/2
    preface is a bad HTTP/1 request, and an Upgrade: h2c request is served as HTTP/1.1."""
    host, port = "127.0.0.1", int(base_url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 400"), got[:100]
    r = requests.get(base_url + "/health", headers={"Connection": "Upgrade, HTTP2-Settings",
                                                    "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAAP__"},
                     timeout=10)
    assert r.status_code == 200 and r.raw.version == 11, (r.status_code, r.raw.version)
