"""The gateway's bounds and guards (DESIGN §9): caps on the calls it holds for services
and on its connections, past which a request is answered 503 with Retry-After and
nothing is sent on; accepting that pauses instead of spinning when the process is out of
descriptors; batch_init switched off or guarded by a token.

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
    """start(max_calls=..., nofile=..., **settings) -> (base URL, process, admin URL) of a
    gateway of our own; settings are more WDM_* variables; process.log_path is its log."""
    procs = []

    def start(max_calls=4096, nofile=None, **settings):
        port, admin_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WDM_")}
        env.update(WDM_GATEWAY_PORT=str(port), WDM_GATEWAY_THREADS="1",
                   WDM_GATEWAY_MAX_CALLS=str(max_calls),
                   WDM_ADMIN_ADDR=f"127.0.0.1:{admin_port}",
                   **{k: topology_env[k] for k in ("WDM_STOCK_URLS", "WDM_PAYMENT_URLS",
                                                   "WDM_ORDER_URLS")},
                   **settings)

        def limit():  # nofile: both limits, or (soft, hard)
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   nofile if isinstance(nofile, tuple) else (nofile, nofile))

        log = open(tmp_path / f"gateway-{port}.log", "w")
        p = subprocess.Popen([str(BUILD / "gateway" / "gateway")], env=env, stdout=log,
                             stderr=subprocess.STDOUT, preexec_fn=limit)
        p.log_path = Path(log.name)
        procs.append(p)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    return url, p, f"http://127.0.0.1:{admin_port}"
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
    url, _, _ = own_gateway(max_calls=2)
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
    url, _, _ = own_gateway(max_calls=1)
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
    url, p, admin_url = own_gateway(nofile=64)
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
            r = requests.get(admin_url + "/metrics", timeout=2)
            if r.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    assert r.status_code == 200
    pauses = [ln for ln in r.text.splitlines() if ln.startswith("wdm_gateway_accept_pauses_total ")]
    assert pauses and int(pauses[0].split()[1]) > 0, pauses
    assert requests.get(url + "/health", timeout=5).status_code == 200


def metric(admin_url, name):
    r = requests.get(admin_url + "/metrics", timeout=5)
    assert r.status_code == 200, r.status_code
    lines = [ln for ln in r.text.splitlines() if ln.startswith(name + " ")]
    assert len(lines) == 1, (name, lines)
    return float(lines[0].split()[1])


def test_past_the_connection_cap_a_request_is_503_and_its_connection_closes(api, own_gateway):
    """A gateway that may hold 4 connections: with 4 open (one of them a keep-alive client
    in use), a request on a 5th is answered 503 with Retry-After and Connection: close,
    and its write is not applied; the keep-alive client is served on, and so is the admin
    listener; once the others close, new connections are served again."""
    url, _, admin_url = own_gateway(WDM_GATEWAY_MAX_CONNECTIONS="4")
    item = api.new_item(price=1, stock=10)
    port = int(url.rsplit(":", 1)[1])
    client = requests.Session()
    assert client.get(f"{url}/stock/find/{item}", timeout=10).status_code == 200
    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        deadline = time.monotonic() + 10
        while metric(admin_url, "wdm_gateway_connections") < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        r = requests.post(f"{url}/stock/subtract/{item}/1", timeout=10)
        assert r.status_code == 503, (r.status_code, r.text[:200])
        assert r.headers.get("Retry-After") == "1" and r.headers.get("Connection") == "close", \
            dict(r.headers)
        assert r.json() == {"error": "too many connections; retry later"}, r.text[:200]
        kept = client.get(f"{url}/stock/find/{item}", timeout=10)
        assert kept.status_code == 200 and kept.json()["stock"] == 10, kept.text[:200]
        assert requests.get(admin_url + "/health", timeout=10).status_code == 200
    finally:
        for s in idle:
            s.close()
        client.close()
    assert api.item(item)["stock"] == 10
    deadline = time.monotonic() + 10
    while metric(admin_url, "wdm_gateway_connections") > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    r = requests.post(f"{url}/stock/subtract/{item}/1", timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert api.item(item)["stock"] == 9


TOKEN = "t0k3n-" + "x" * 20


def test_batch_init_needs_the_token_when_one_is_set(api, own_gateway):
    """WDM_ADMIN_TOKEN: batch_init without the token, or with another, is 401 with
    WWW-Authenticate and writes nothing; with it, it runs. Other routes need no token."""
    url, _, _ = own_gateway(WDM_ADMIN_TOKEN=TOKEN)
    stock = 700000 + int(time.time()) % 99991     # a value no other test writes
    path = f"{url}/stock/batch_init/1/{stock}/3"
    for headers in ({}, {"Authorization": "Bearer " + TOKEN[:-1] + "y"},
                    {"Authorization": "Basic " + TOKEN}, {"Authorization": TOKEN}):
        r = requests.post(path, headers=headers, timeout=30)
        assert r.status_code == 401, (headers, r.status_code, r.text[:200])
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(r.headers)
    first = requests.get(f"{url}/stock/find/0", timeout=10)      # no token needed
    assert first.status_code in (200, 404), first.status_code        # 404: no batch_init yet
    assert first.status_code == 404 or first.json()["stock"] != stock
    r = requests.post(path, headers={"Authorization": "Bearer " + TOKEN}, timeout=60)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert api.item("0")["stock"] == stock


def test_batch_init_switched_off(api, own_gateway):
    """WDM_BATCH_INIT=0: every batch_init route is 404, as if it did not exist."""
    url, _, _ = own_gateway(WDM_BATCH_INIT="0", WDM_ADMIN_TOKEN=TOKEN)
    for path in ("/stock/batch_init/1/5/3", "/payment/batch_init/1/5", "/orders/batch_init/1/1/1/1"):
        r = requests.post(url + path, headers={"Authorization": "Bearer " + TOKEN}, timeout=30)
        assert r.status_code == 404, (path, r.status_code, r.text[:200])
        assert r.json() == {"error": "not found"}


def test_bad_guard_settings_stop_the_start(topology_env, tmp_path):
    """A token too short to be a secret, or WDM_BATCH_INIT not 0 or 1: the gateway
    refuses to start (exit status 1), with the reason in its log."""
    for settings, says in (({"WDM_ADMIN_TOKEN": "short"}, "WDM_ADMIN_TOKEN"),
                           ({"WDM_BATCH_INIT": "yes"}, "WDM_BATCH_INIT"),
                           ({"WDM_ADMIN_ADDR": "nowhere"}, "WDM_ADMIN_ADDR")):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WDM_")}
        env.update(WDM_GATEWAY_PORT=str(free_port()),
                   **{k: topology_env[k] for k in ("WDM_STOCK_URLS", "WDM_PAYMENT_URLS",
                                                   "WDM_ORDER_URLS")}, **settings)
        p = subprocess.run([str(BUILD / "gateway" / "gateway")], env=env, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 1, (settings, p.returncode, p.stderr[-500:])
        assert says in p.stderr + p.stdout, (settings, p.stderr[-500:])


def soft_nofile(pid):
    line = next(ln for ln in Path(f"/proc/{pid}/limits").read_text().splitlines()
                if ln.startswith("Max open files"))
    return int(line.split()[3])


def test_the_descriptor_limit_is_raised_and_a_cap_that_does_not_fit_is_reported(own_gateway):
    """Every connection takes two descriptors: the gateway raises its soft limit to the
    hard one, and says so in its log when the connection cap still does not fit."""
    _, p, _ = own_gateway(nofile=(256, 4096), WDM_GATEWAY_MAX_CONNECTIONS="100")
    assert soft_nofile(p.pid) == 4096
    assert "needs" not in p.log_path.read_text()
    _, p, _ = own_gateway(nofile=(256, 1024), WDM_GATEWAY_MAX_CONNECTIONS="1000")
    assert soft_nofile(p.pid) == 1024
    log = p.log_path.read_text()
    assert "WDM_GATEWAY_MAX_CONNECTIONS=1000 needs 2256 descriptors, the limit is 1024" in log, log[-500:]


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
