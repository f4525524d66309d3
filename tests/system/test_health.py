"""GET /health (public port and admin listener) and GET /metrics (admin listener)."""

import re

SAMPLE = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*(\{.*\})?\s+[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|NaN|[-+]?Inf)(\s+-?\d+)?$")


def test_health(api):
    r = api.get("/health")
    assert r.status_code == 200, (r.status_code, r.text)


def test_metrics_prometheus_text(api, admin):
    api.get("/health")
    r = admin.get("/metrics")
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers.get("Content-Type")
    lines = [ln for ln in r.text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines, "no samples in /metrics"
    bad = [ln for ln in lines if not SAMPLE.match(ln)]
    assert not bad, f"not Prometheus sample lines: {bad[:5]}"
