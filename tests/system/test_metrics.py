"""GET /metrics of every gateway (its admin listener, WDM_ADMIN_ADDR) and of every service
replica (WDM_METRICS_ADDR): valid Prometheus text whose counters grow by exactly what the
test sent, and a service's metrics port that answers garbage with an error (or closes on
it) and goes on serving.

Several gateway processes share the public port (SO_REUSEPORT), but each has an admin
listener of its own, so a scrape names its process (topology.env: WDM_ADMIN_ADDRS); the
test checks that each is another process (wdm_gateway_info{pid}) and sums them. Service
replicas have a metrics address each (WDM_METRICS_ADDRS="name=host:port ...")."""

import re
import socket
import time

import pytest
import requests

from wdmtest import TIMEOUT, expect_error, expect_ok, raw_bytes, uid

NAME = r"[A-Za-z_:][A-Za-z0-9_:]*"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
LABEL_RE = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)' % NAME)
HELP_RE = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def parse(text):
    """Checks the text exposition format 0.0.4 strictly and returns
    {(name, frozenset(labels.items())): value}."""
    assert text.endswith("\n"), "the text does not end with a newline"
    types, samples, seen_family = {}, {}, set()
    for n, line in enumerate(text.splitlines(), 1):
        where = f"line {n}: {line!r}"
        if line.startswith("#"):
            m = HELP_RE.match(line) or TYPE_RE.match(line)
            assert m, f"{where}: not a HELP or TYPE line"
            if line.startswith("# TYPE"):
                assert m.group(1) not in types, f"{where}: a second TYPE"
                assert m.group(1) not in seen_family, f"{where}: TYPE after the family's samples"
                types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"{where}: not a sample line"
        name, labels_text, value = m.groups()
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL_RE.match(labels_text, pos)
                assert lm, f"{where}: bad labels"
                assert lm.group(1) not in labels, f"{where}: label {lm.group(1)} twice"
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        family = name
        for fam, t in types.items():
            if any(name == fam + s for s in SUFFIXES.get(t, ())):
                family = fam
        assert family in types, f"{where}: no TYPE for {name}"
        seen_family.add(family)
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"{where}: the same sample twice"
        samples[key] = float(value)
    check_histograms(types, samples)
    return samples


def check_histograms(types, samples):
    """Buckets ascend and are cumulative; +Inf equals _count."""
    for fam, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                d = dict(labels)
                le = d.pop("le")
                series.setdefault(frozenset(d.items()), []).append((float(le), v))
        for labels, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{fam}{dict(labels)}: buckets not cumulative"
            assert buckets[-1][0] == float("inf"), f"{fam}{dict(labels)}: no +Inf bucket"
            assert samples.get((fam + "_count", labels)) == buckets[-1][1], \
                f"{fam}{dict(labels)}: _count is not the +Inf bucket"
            assert (fam + "_sum", labels) in samples, f"{fam}{dict(labels)}: no _sum"


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(url):
    r = requests.get(url + "/metrics", headers={"Connection": "close"}, timeout=TIMEOUT)
    assert r.status_code == 200, (url, r.status_code, r.text[:200])
    assert r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), \
        r.headers.get("Content-Type")
    return parse(r.text)


def gateway_pid(samples):
    pids = [dict(labels)["pid"] for (name, labels) in samples if name == "wdm_gateway_info"]
    assert len(pids) == 1, f"wdm_gateway_info: {pids}"
    return pids[0]


def scrape_gateways(gateway_metrics):
    """{pid: samples} of every gateway process, from each one's admin listener; each must
    be a different process."""
    found = {}
    for name, url in gateway_metrics.items():
        s = scrape(url)
        pid = gateway_pid(s)
        assert pid not in found, f"{name} ({url}) is the same process as another gateway"
        found[pid] = s
    return found


def counter_delta(before, after, name, key_label, keys, **fixed):
    """{key: growth} of the counter name{key_label=key, **fixed}, summed over processes."""
    out = {}
    for k in keys:
        labels = dict(fixed, **{key_label: k})
        out[k] = sum(value(s, name, **labels) for s in after.values()) - \
            sum(value(s, name, **labels) for s in before.values())
    return out


@pytest.fixture(scope="module")
def env(request):
    try:
        return request.getfixturevalue("topology_env")
    except pytest.skip.Exception:
        return {}


def named_urls(env, key):
    """{name: "http://host:port"} from topology.env's "name=host:port ..." list `key`."""
    out = {}
    for a in env.get(key, "").split():
        name, _, hostport = a.partition("=")
        out[name] = "http://" + hostport
    return out


@pytest.fixture(scope="module")
def gateway_metrics(env, admin_url):
    """{gateway name: admin listener URL} of every gateway (just the one at admin_url when
    the topology is not ours)."""
    return named_urls(env, "WDM_ADMIN_ADDRS") or {"gateway": admin_url}


@pytest.fixture(scope="module")
def service_metrics(env):
    """{replica name: "http://host:port"} of every service replica's metrics address."""
    out = named_urls(env, "WDM_METRICS_ADDRS")
    if not out:
        pytest.skip("the topology gives its services no WDM_METRICS_ADDR "
                    "(topology.env has no WDM_METRICS_ADDRS)")
    return out


def by_service(service_metrics, service):
    urls = {n: u for n, u in service_metrics.items() if n.rsplit("-", 1)[0] == service}
    assert urls, f"no metrics address of a {service} replica in {sorted(service_metrics)}"
    return urls


def test_gateway_metrics_text(api, gateway_metrics, env):
    api.get("/health")
    found = scrape_gateways(gateway_metrics)
    assert len(found) == int(env.get("WDM_GATEWAYS") or 1)
    for pid, s in found.items():
        assert value(s, "process_resident_memory_bytes") > 0, pid
        assert abs(value(s, "process_start_time_seconds") - time.time()) < 86400, pid
        assert value(s, "wdm_gateway_inflight_rpcs") >= 0


def test_counts_grow_by_what_was_sent(api, gateway_metrics, service_metrics):
    gw_before = scrape_gateways(gateway_metrics)
    svc_before = {n: scrape(u) for n, u in service_metrics.items()}

    user = api.new_user(credit=100)                       # payment.create_user, add_funds
    item = api.new_item(price=7, stock=5)                 # stock.create_item, stock.add
    for _ in range(3):
        api.item(item)                                    # stock.find 200
    for _ in range(2):
        expect_error(api.get(f"/stock/find/{uid('none')}"), 404)
    expect_error(api.post(f"/stock/add/{item}/-1"), 400)
    order = api.new_order(user)                           # order.create (-> payment.find_user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))  # (-> stock.find)
    assert expect_ok(api.post(f"/orders/checkout/{order}"))["paid"] is True
    api.order(order)                                      # order.find

    gw_after = scrape_gateways(gateway_metrics)
    assert set(gw_after) == set(gw_before), "a gateway process changed during the test"
    sent = {("payment.create_user", "200"): 1, ("payment.add_funds", "200"): 1,
            ("stock.create_item", "200"): 1, ("stock.add", "200"): 1, ("stock.add", "400"): 1,
            ("stock.find", "200"): 3, ("stock.find", "404"): 2, ("order.create", "200"): 1,
            ("order.add_item", "200"): 1, ("order.checkout", "200"): 1, ("order.find", "200"): 1}
    for (route, status), n in sent.items():
        got = counter_delta(gw_before, gw_after, "wdm_gateway_requests_total", "status",
                            [status], route=route)[status]
        assert got == n, f"wdm_gateway_requests_total{{route={route},status={status}}} grew by {got}, not {n}"
    for route in {r for r, _ in sent}:
        want = sum(n for (r, _), n in sent.items() if r == route)
        got = counter_delta(gw_before, gw_after, "wdm_gateway_request_seconds_count", "route",
                            [route])[route]
        assert got == want, f"wdm_gateway_request_seconds_count{{route={route}}} grew by {got}, not {want}"
        inf = counter_delta(gw_before, gw_after, "wdm_gateway_request_seconds_bucket", "route",
                            [route], le="+Inf")[route]
        assert inf == want, route

    # The services: every replica's counters, summed per service. stock.find and
    # payment.find_user also serve order (add_item, create), hence their counts.
    svc_after = {n: scrape(u) for n, u in service_metrics.items()}
    rpc_sent = {"payment": {("payment.create_user", "OK"): 1, ("payment.add_funds", "OK"): 1,
                            ("payment.find_user", "OK"): 1},
                "stock": {("stock.create_item", "OK"): 1, ("stock.add", "OK"): 1,
                          ("stock.find", "OK"): 4, ("stock.find", "NOT_FOUND"): 2},
                "order": {("order.create", "OK"): 1, ("order.add_item", "OK"): 1,
                          ("order.checkout", "OK"): 1, ("order.find", "OK"): 1}}
    for service, calls in rpc_sent.items():
        names = by_service(service_metrics, service)
        before = {n: svc_before[n] for n in names}
        after = {n: svc_after[n] for n in names}
        for (method, status), n in calls.items():
            got = counter_delta(before, after, "wdm_rpc_requests_total", "status", [status],
                                method=method)[status]
            assert got == n, f"{service}: wdm_rpc_requests_total{{method={method},status={status}}} grew by {got}, not {n}"
            got = counter_delta(before, after, "wdm_rpc_request_seconds_count", "method",
                                [method])[method]
            want = sum(k for (m, _), k in calls.items() if m == method)
            assert got == want, f"{service}: wdm_rpc_request_seconds_count{{method={method}}} grew by {got}, not {want}"
        for n in names:
            assert value(svc_after[n], "wdm_rpc_deferred_calls") == 0, n
            assert value(svc_after[n], "process_resident_memory_bytes") > 0, n


GARBAGE = [  # (bytes, the status answered; None: closed at once without an answer)
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)), None),  # a TLS hello
    (b"hello there\r\n\r\n", 400),
    (b"GET /metrics HTTP/9.9\r\n\r\n", 505),
    (b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405),
    (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 50000 + b" HTTP/1.1\r\n\r\n", 414),
]


def status_of(answer):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    return int(m.group(1)) if m else None


def test_garbage_to_a_metrics_port(api, service_metrics):
    for name, url in sorted(service_metrics.items()):
        for data, want in GARBAGE:
            start = time.monotonic()
            answer, closed = raw_bytes(url, data, timeout=10)
            assert status_of(answer) == want, f"{name}: {data[:40]!r} -> {answer[:200]!r}"
            if want is None:
                assert answer == b"" and closed and time.monotonic() - start < 2, (name, data[:40])
            else:
                assert b"\r\nConnection: close\r\n" in answer, answer[:200]
        scrape(url)                          # still serving
    api.new_user()                           # and the services still work


def test_slow_and_idle_clients(service_metrics):
    """Idle connections take slots of the listener (64), not its thread: with 40 of them
    open a scrape gets through at once. A request that stops coming is closed without an
    answer once it has been silent for the idle timeout (5 s)."""
    url = sorted(service_metrics.values())[0]
    host, port = url[len("http://"):].rsplit(":", 1)
    idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(40)]
    try:
        start = time.monotonic()
        scrape(url)
        assert time.monotonic() - start < 2, "a scrape waited for idle connections"
        start = time.monotonic()
        answer, closed = raw_bytes(url, b"GET /metrics HTTP/1.1\r\nHost: x\r\n", timeout=15)
        took = time.monotonic() - start
        assert answer == b"" and closed, answer[:200]
        assert 4 < took < 10, took
    finally:
        for s in idle:
            s.close()
    scrape(url)
