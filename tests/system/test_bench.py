"""wdm-bench (bench/): the C load generator run against the test topology. Each scenario
must exit 0 with a JSON report whose counts add up (requests = the sum of the statuses,
per operation too), with no 5xx and no errors, and the consistency scenario must pass
every check. Also: an unreachable server is counted as connect errors (exit 1), a setup
that cannot run exits 2, a setup answer whose JSON is malformed or not what the API says
is reported as such (exit 2, no crash), and a bad command line exits 2.

Data: consistency and mixed create their own ids through the API. stress batch_inits the
ids "0".."499" (users, items, orders) and checks some of those orders out, and the open
loop test reads those items; the other tests that use batch_init ids (test_batch_init,
test_clients) batch_init them again themselves before they read them, so nothing here
changes what they see."""

import json
import os
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wdmtest import free_port

# A sanitizer report in wdm-bench's own output (the asan variant builds it with ASan/UBSan).
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:")
RUN_TIMEOUT = 300   # seconds for one wdm-bench run, setup included


@pytest.fixture(scope="module")
def bench():
    build = os.environ.get("WDM_BUILD_DIR")
    exe = Path(build) / "bench" / "wdm-bench" if build else None
    if exe is None or not os.access(exe, os.X_OK):
        pytest.skip("no wdm-bench in WDM_BUILD_DIR")
    return exe


def run_bench(bench, url, tmp_path, *args):
    """Runs wdm-bench with a JSON report; returns (process, report or None)."""
    out = tmp_path / "report.json"
    p = subprocess.run([str(bench), *args, "--url", url, "--json", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert not SANITIZER_RE.search(p.stderr), p.stderr[-3000:]
    report = json.loads(out.read_text()) if out.exists() else None
    return p, report


def explain(p):
    return f"exit {p.returncode}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-2000:]}"


def check_clean(p, report):
    """Exit 0, PASS, counts that add up, no 5xx, no errors."""
    assert p.returncode == 0, explain(p)
    assert report["result"] == "PASS" and "RESULT: PASS" in p.stdout, explain(p)
    assert report["requests"] == sum(report["status"].values()), report
    ops = report["operations"]
    for name, op in ops.items():
        assert op["requests"] == sum(op["status"].values()), (name, op)
        assert op["errors"] == 0, (name, op)
    assert sum(op["requests"] for op in ops.values()) == report["requests"], report
    assert not [s for s in report["status"] if s.startswith("5")], report["status"]
    assert report["errors_total"] == 0 and not any(report["errors"].values()), report["errors"]
    assert report["interrupted"] is False and report["error"] is None
    lat = report["latency_us"]
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"], lat


def test_consistency(bench, base_url, tmp_path):
    p, r = run_bench(bench, base_url, tmp_path, "consistency", "--orders", "300", "--stock", "50",
                     "-c", "100")
    check_clean(p, r)
    assert r["requests"] == 300
    assert r["status"] == {"200": 50, "409": 250}, r["status"]
    assert r["params"]["expected_200"] == 50
    assert len(r["checks"]) == 9, r["checks"]
    failed = [c for c in r["checks"] if not c["ok"]]
    assert not failed, failed
    assert p.stdout.count("PASS  ") == 9, p.stdout


def test_mixed(bench, base_url, tmp_path):
    series = tmp_path / "series.csv"
    p, r = run_bench(bench, base_url, tmp_path, "mixed", "-d", "3", "-c", "16", "--users", "40",
                     "--items", "40", "--orders", "40", "--series", str(series))
    check_clean(p, r)
    ops = r["operations"]
    assert set(ops) == {"stock_find", "user_find", "add_funds", "stock_add", "add_item",
                        "order_find", "checkout", "order_create"}
    assert all(op["requests"] > 0 for op in ops.values()), ops
    assert set(r["status"]) == {"200"}, r["status"]   # a fresh, funded pool: everything succeeds
    rows = series.read_text().splitlines()
    assert rows[0] == "t,rps,p50_ms,p90_ms,p99_ms,max_ms,errors"
    assert len(rows) >= 3, rows


def test_stress(bench, base_url, tmp_path):
    p, r = run_bench(bench, base_url, tmp_path, "stress", "-n", "500", "-d", "3", "-c", "16")
    check_clean(p, r)
    assert r["params"]["orders"] == 500 and r["params"]["skip_setup"] == 0
    assert r["requests"] > 0
    assert set(r["status"]) <= {"200", "409"}, r["status"]


def test_open_loop(bench, base_url, tmp_path):
    # 200 reads/s for 2 s (cheap, so no backlog builds up even in the sanitizer build) on
    # batch_init's item ids: test_stress's, or unknown ones (404, not an error) when alone.
    # With gnuplot installed (gnuplot-nox), the series is drawn too.
    png = tmp_path / "series.png"
    plot = ["--plot", str(png)] if shutil.which("gnuplot") else []
    p, r = run_bench(bench, base_url, tmp_path, "mixed", "--skip-setup", "--mix", "stock_find=1",
                     "--items", "500", "--rate", "200", "-d", "2", "-c", "8", *plot)
    check_clean(p, r)
    assert r["mode"] == "open" and r["rate"] == 200
    assert 390 <= r["requests"] <= 400 and r["unsent"] == 0, r
    assert set(r["operations"]["stock_find"]["status"]) <= {"200", "404"}, r["status"]
    if plot:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert len((tmp_path / "series.png.csv").read_text().splitlines()) >= 2


def test_unreachable_server_is_an_error(bench, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    p, r = run_bench(bench, url, tmp_path, "stress", "--skip-setup", "-n", "10", "-d", "1", "-c", "2")
    assert p.returncode == 1, explain(p)
    assert r["requests"] == 0 and r["errors"]["connect"] > 0 and r["result"] == "FAIL", r

    p, r = run_bench(bench, url, tmp_path, "consistency", "--orders", "5", "--timeout", "1000")
    assert p.returncode == 2, explain(p)
    assert "setup" in r["error"] and r["result"] == "FAIL", r


class FakeGateway(ThreadingHTTPServer):
    """An HTTP/1.1 server on 127.0.0.1 that answers every request 200 with `body`."""

    daemon_threads = True

    def __init__(self):
        self.body = b"{}"
        super().__init__(("127.0.0.1", 0), FakeGatewayHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class FakeGatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as wdm-bench expects

    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_gateway():
    server = FakeGateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


# 200 answers to POST /stock/item/create/{price} that carry no usable item id.
BAD_CREATE_ANSWERS = [
    b'{"item_id": 7}', b'{"item_id": ""}', b'{"item_id": "' + b"x" * 65 + b'"}',  # ids: 1..64
    b'{"item_id": "a\\u0000b"}', b'{"item_id": "a", "item_id": "b"}', b'{"id": "i-1"}',
    b'{"item_id": "i-1"', b'{"item_id": "i-1"} {}', b'["i-1"]', b'"i-1"', b"", b"\xff",
]


def test_wrong_json_from_the_gateway_is_a_setup_error(bench, fake_gateway, tmp_path):
    """Each bad answer fails the setup with the request and the body in the report's error;
    wdm-bench neither crashes nor reads an id out of it."""
    for body in BAD_CREATE_ANSWERS:
        fake_gateway.body = body
        p, r = run_bench(bench, fake_gateway.url, tmp_path, "consistency", "--orders", "2",
                         "--timeout", "2000")
        assert p.returncode == 2, (body, explain(p))
        assert r["error"].startswith("setup: POST /stock/item/create/1: 200"), (body, r["error"])
    # A good item id passes that step (and adding stock, any object); create_user's answer
    # then lacks its user_id.
    fake_gateway.body = b'{"item_id": "i-1"}'
    p, r = run_bench(bench, fake_gateway.url, tmp_path, "consistency", "--orders", "2",
                     "--timeout", "2000")
    assert p.returncode == 2, explain(p)
    assert r["error"].startswith("setup: POST /payment/create_user: 200"), r["error"]


def test_bad_command_line(bench):
    for args in (["nosuch"], [], ["stress", "-c", "0"], ["mixed", "--mix", "nosuch=1"],
                 ["stress", "--url", "https://x"], ["stress", "--rate", "x"]):
        p = subprocess.run([str(bench), *args], capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (args, explain(p))
    p = subprocess.run([str(bench), "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "usage: wdm-bench" in p.stdout


def test_measure_reports_cpu_rss_and_sagas_of_every_process(bench, topology_env, tmp_path):
    """bench/measure (the figures of bench/RESULTS.md) against the test topology, named by
    its run dir alone: the consistency step passes, every process of the topology has a
    CPU figure and an RSS, and the sagas it counts on the order replicas' /metrics are
    exactly the scenario's 1000 checkouts; AMQP and RPC messages and Redis commands per
    saga are counted; the CPU per request of each part (ours, Redis, RabbitMQ, wdm-bench)
    and the ceiling it sets are reported."""
    run_dir = topology_env["WDM_RUN_DIR"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WDM_")}
    env.update(WDM_RUN_DIR=run_dir, WDM_BUILD_DIR=str(bench.parents[1]))
    out = tmp_path / "measure"
    p = subprocess.run([str(Path(__file__).resolve().parents[2] / "bench" / "measure"),
                        "--only", "consistency", "--out", str(out)],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, explain(p)
    assert "=== infra/local/up" not in p.stdout, "measure did not find the running topology"
    report = json.loads((out / "consistency.json").read_text())
    assert report["result"] == "PASS", report
    m = report["measure"]
    assert m["sagas_started"] == 1000, m
    assert m["context_switches"] > 0, m
    # What a saga costs, counted where it is paid: AMQP messages published (each a batch
    # of records; a saga sends 2 to 6 records: Charge, its outcome, Reserve, its outcome,
    # Refund, its outcome), RPC messages received by the services, Redis commands and
    # script calls per group.
    assert 0 < m["amqp_published"] <= 6 * 1000, m
    assert m["rpc_single_messages"] + m["rpc_batch_messages"] > 0, m
    rps = m["redis_per_saga"]
    assert set(rps) == {"order", "stock", "payment"}, rps
    for group, (master, scripts, replicas) in rps.items():
        assert master > 0 and 0 < scripts and replicas > 0, (group, rps)
    assert "Redis per saga, by group" in (out / "summary.md").read_text()
    names = {f.stem for f in (Path(run_dir) / "pids").glob("*.pid")
             if not f.stem.startswith("rabbitmq-launcher") and f.stem != "epmd"}
    assert names <= set(m["cpu_percent"]), (names, m["cpu_percent"])
    assert all(v >= 0 for v in m["cpu_percent"].values()), m["cpu_percent"]
    summary = (out / "summary.md").read_text()
    assert "| consistency |" in summary, summary
    for name in names:
        row = next(ln for ln in summary.splitlines() if ln.startswith(f"| {name} |"))
        assert re.search(r"\| \d+\.\d \|$", row), row     # its RSS in MB
    # CPU per request by part, and the ceiling the infrastructure sets: numbers, with
    # Redis and RabbitMQ busy during 1000 checkouts.
    parts = {ln.split(" | ")[0][2:]: ln.split(" | ")[1].rstrip(" |")
             for ln in summary.splitlines()[summary.splitlines().index("| part | consistency |"):]
             if ln.startswith("| ") and " | " in ln}
    assert {"ours", "Redis + Sentinels", "RabbitMQ", "wdm-bench",
            "requests/s if ours cost nothing"} <= set(parts), parts
    assert int(parts["Redis + Sentinels"]) > 0 and int(parts["RabbitMQ"]) > 0, parts
    assert int(parts["requests/s if ours cost nothing"]) > 0, parts
