#!/usr/bin/python3
"""check_monitoring.py [--repo DIR] [--promtool PATH]: checks the monitoring files against
each other and against what the programs export. Prints one "FAIL:" line per problem;
exit 1 if there was any.

- infra/grafana/wdm-dashboard.json is JSON with a data source template variable of type
  prometheus that every panel and query uses; panel ids are unique, panels fit the 24
  columns; every query parses as PromQL (promtool check rules on the queries written as
  recording rules, Grafana's $__ intervals replaced by durations).
- Every series the rules (RULES_FILE) and the dashboard read exists: a wdm_* or process_*
  name the C sources write (a histogram's name with _bucket, _sum or _count), a series
  the rules record, `up`, or a name of the exporters in EXPORTED.
- infra/docker/prometheus/prometheus.yml is a valid Prometheus config together with the
  rules file (promtool check config on a copy whose rule_files name it).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

RULES_FILE = "infra/helm/wdm/files/prometheus-rules.yml"
DASHBOARD = "infra/grafana/wdm-dashboard.json"
COMPOSE_PROMETHEUS = "infra/docker/prometheus/prometheus.yml"
SOURCE_DIRS = ("common", "gateway", "order", "stock", "payment")
# Series of the exporters that the rules and the dashboard read: prometheus-redis-exporter
# (names as of 1.45, the Debian version infra/local runs) and RabbitMQ's rabbitmq_prometheus
# plugin (its default, aggregated /metrics). Add a name here only after checking it there.
EXPORTED = {
    "up",
    "redis_up", "redis_instance_info", "redis_connected_slaves", "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "rabbitmq_alarms_memory_used_watermark", "rabbitmq_alarms_free_disk_space_watermark",
    "rabbitmq_alarms_file_descriptor_limit", "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
}
# Grafana's interval variables, as durations promtool accepts.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                "group_left", "group_right", "inf", "nan", "Inf", "NaN"}

problems = []


def bad(msg):
    problems.append(msg)


def series_read(expr):
    """The series names a PromQL expression selects (by a simple scan: strings, label
    matchers, ranges and by/on/... label lists removed; what is left that is no function,
    keyword or number)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w:.$])([A-Za-z_:][\w:]*)\s*(\()?", e):
        if not m.group(2) and m.group(1) not in PROMQL_WORDS:
            names.add(m.group(1))
    return names


def exported(repo):
    """wdm_* and process_* names written by the C sources (no tests)."""
    names = set()
    for d in SOURCE_DIRS:
        for f in glob.glob(os.path.join(repo, d, "*.c")):
            if f.endswith("_test.c"):
                continue
            with open(f) as fh:
                names |= set(re.findall(r'"((?:wdm|process)_[a-z0-9_]+)"', fh.read()))
    return names


def known(name, exported_names, recorded):
    if name in recorded or name in EXPORTED or name in exported_names:
        return True
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    return base != name and base in exported_names


def promtool_parse(promtool, exprs, what):
    """Runs promtool check rules on exprs ({name: expr}) as recording rules."""
    rules = [{"record": "check:%s" % n, "expr": e} for n, e in exprs.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump({"groups": [{"name": what, "rules": rules}]}, f)
        f.flush()
        r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
    if r.returncode != 0:
        bad("%s: queries that do not parse:\n%s" % (what, (r.stdout + r.stderr).strip()))


def check_dashboard(repo, promtool, exported_names, recorded):
    path = os.path.join(repo, DASHBOARD)
    try:
        with open(path) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        bad("%s: %s" % (DASHBOARD, e))
        return
    var = [v for v in dash.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
    if len(var) != 1 or var[0].get("query") != "prometheus":
        bad("%s: want one data source variable of type prometheus" % DASHBOARD)
        return
    ds = "${%s}" % var[0]["name"]
    exprs, ids = {}, set()
    for p in dash.get("panels", []):
        title = "panel %r" % p.get("title")
        if p.get("id") in ids:
            bad("%s: %s: id %s is used twice" % (DASHBOARD, title, p.get("id")))
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24:
            bad("%s: %s is wider than the 24 columns" % (DASHBOARD, title))
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != ds:
            bad("%s: %s does not use the data source %s" % (DASHBOARD, title, ds))
        if not p.get("targets"):
            bad("%s: %s has no query" % (DASHBOARD, title))
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != ds:
                bad("%s: %s query %s does not use %s" % (DASHBOARD, title, t.get("refId"), ds))
            exprs["panel_%s_%s" % (p.get("id"), t.get("refId"))] = (title, t.get("expr", ""))
    for i, a in enumerate(dash.get("annotations", {}).get("list", [])):
        if a.get("builtIn"):
            continue
        title = "annotation %r" % a.get("name")
        if (a.get("datasource") or {}).get("uid") != ds:
            bad("%s: %s does not use the data source %s" % (DASHBOARD, title, ds))
        exprs["annotation_%d" % i] = (title, a.get("expr", ""))
    for n, (title, e) in exprs.items():
        for v, d in GRAFANA_VARS.items():
            e = e.replace(v, d)
        if "$" in e:
            bad("%s: %s: a variable the check does not know: %s" % (DASHBOARD, title, e))
        exprs[n] = (title, e)
        for s in sorted(series_read(e)):
            if not known(s, exported_names, recorded):
                bad("%s: %s reads %s, which nothing exports or records" % (DASHBOARD, title, s))
    promtool_parse(promtool, {n: e for n, (_, e) in exprs.items()}, DASHBOARD)


def check_rules(repo, exported_names):
    """The rules' recorded names; problems for series they read that do not exist."""
    with open(os.path.join(repo, RULES_FILE)) as f:
        groups = (yaml.safe_load(f) or {}).get("groups") or []
    recorded = {r["record"] for g in groups for r in g.get("rules", []) if "record" in r}
    for g in groups:
        for r in g.get("rules", []):
            for s in sorted(series_read(str(r.get("expr", "")))):
                if not known(s, exported_names, recorded):
                    bad("%s: %s reads %s, which nothing exports or records" %
                        (RULES_FILE, r.get("record") or r.get("alert"), s))
    return recorded


def check_compose_config(repo, promtool):
    with open(os.path.join(repo, COMPOSE_PROMETHEUS)) as f:
        conf = yaml.safe_load(f)
    conf["rule_files"] = [os.path.join(repo, RULES_FILE)]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(conf, f)
        f.flush()
        r = subprocess.run([promtool, "check", "config", f.name], capture_output=True, text=True)
    if r.returncode != 0:
        bad("%s with %s: promtool check config fails:\n%s" %
            (COMPOSE_PROMETHEUS, RULES_FILE, (r.stdout + r.stderr).strip()))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--promtool", default="promtool")
    a = ap.parse_args()
    names = exported(a.repo)
    recorded = check_rules(a.repo, names)
    check_dashboard(a.repo, a.promtool, names, recorded)
    check_compose_config(a.repo, a.promtool)
    for p in problems:
        print("FAIL: %s" % p)
    print("check_monitoring: %d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
