"""The local topology's Prometheus (infra/local/prometheus.sh): through its HTTP API,
every target of the topology (each gateway's admin listener, each service replica, each
Redis through the exporter, each RabbitMQ node) is scraped and up, the rules of
infra/helm/wdm/files/prometheus-rules.yml are loaded and healthy, and a checkout made
here shows in the checkout series."""

import time
from pathlib import Path

import pytest
import requests
import yaml

from wdmtest import expect_ok

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "infra" / "helm" / "wdm" / "files" / "prometheus-rules.yml"
SCRAPE_WAIT_S = 60      # scrapes every 5 s; a fresh Prometheus needs a few rounds


@pytest.fixture(scope="module")
def prom(topology_env):
    if topology_env.get("WDM_PROMETHEUS") != "1":
        pytest.skip("the topology runs no Prometheus (WDM_PROMETHEUS=0)")
    return topology_env["WDM_PROMETHEUS_URL"]


def api_get(prom, path, **params):
    r = requests.get(prom + path, params=params, timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]


def expected_targets(env):
    """{(job, instance)} of every process infra/local/up says it started."""
    out = {("gateway", f"gateway-{i}") for i in range(1, int(env["WDM_GATEWAYS"]) + 1)}
    for s in ("order", "stock", "payment"):
        out |= {(s, f"{s}-{i}") for i in range(1, int(env["WDM_REPLICAS"]) + 1)}
    for g in ("order", "stock", "payment"):
        out |= {("redis", f"redis-{g}-{i}") for i in (1, 2, 3)}
    nodes = len(env["WDM_RABBITMQ_URL"].split(","))
    out |= {("rabbitmq", f"rabbitmq-{n}") for n in range(1, nodes + 1)}
    return out


def test_every_target_is_up(prom, topology_env):
    want = expected_targets(topology_env)
    deadline = time.monotonic() + SCRAPE_WAIT_S
    while True:
        active = api_get(prom, "/api/v1/targets", state="active")["activeTargets"]
        seen = {(t["labels"]["job"], t["labels"]["instance"]): t for t in active}
        down = {k: (t["health"], t["lastError"]) for k, t in seen.items() if t["health"] != "up"}
        if set(seen) == want and not down:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"targets not as expected after {SCRAPE_WAIT_S} s: missing "
                        f"{sorted(want - set(seen))}, extra {sorted(set(seen) - want)}, not up {down}")
        time.sleep(1)
    # Each target's up series says so, and Redis answers through the exporter.
    up = api_get(prom, "/api/v1/query", query="up")["result"]
    assert {(r["metric"]["job"], r["metric"]["instance"]) for r in up if r["value"][1] == "1"} >= want
    redis_up = api_get(prom, "/api/v1/query", query="redis_up")["result"]
    assert len([r for r in redis_up if r["value"][1] == "1"]) == 9, redis_up


def test_rules_are_loaded_and_healthy(prom):
    assert RULES.is_file(), f"{RULES}: the rules every deployment loads are missing"
    groups = {g["name"] for g in yaml.safe_load(RULES.read_text())["groups"]}
    assert groups
    deadline = time.monotonic() + SCRAPE_WAIT_S
    while True:
        loaded = api_get(prom, "/api/v1/rules")["groups"]
        bad = [(g["name"], r["name"], r.get("lastError")) for g in loaded for r in g["rules"]
               if r.get("health") == "err"]
        evaluated = all(r.get("health") == "ok" for g in loaded for r in g["rules"])
        if {g["name"] for g in loaded} == groups and evaluated:
            break
        assert not bad, f"rules that fail to evaluate: {bad}"
        if time.monotonic() > deadline:
            pytest.fail(f"rule groups {sorted(g['name'] for g in loaded)} (want {sorted(groups)}), "
                        f"not all evaluated after {SCRAPE_WAIT_S} s")
        time.sleep(1)


def total(prom, query):
    """The value of a sum() query, 0 while it has no series."""
    result = api_get(prom, "/api/v1/query", query=query)["result"]
    return float(result[0]["value"][1]) if result else 0.0


# The gateway's count of paid checkouts, and the order replicas' count of ended sagas.
CHECKOUTS = 'sum(wdm_gateway_requests_total{route="order.checkout",status="200"})'
SAGAS_ENDED = "sum(wdm_saga_outcomes_total)"


def test_a_checkout_shows_in_the_checkout_series(prom, api):
    before = {q: total(prom, q) for q in (CHECKOUTS, SAGAS_ENDED)}
    user = api.new_user(credit=50)
    item = api.new_item(price=5, stock=3)
    order = api.new_order(user)
    expect_ok(api.post(f"/orders/addItem/{order}/{item}/2"))
    assert expect_ok(api.post(f"/orders/checkout/{order}"))["paid"] is True
    deadline = time.monotonic() + SCRAPE_WAIT_S
    for q, was in before.items():
        while total(prom, q) < was + 1:
            assert time.monotonic() < deadline, f"{q}: the checkout did not show within {SCRAPE_WAIT_S} s"
            time.sleep(1)
