"""System-test harness.

One topology per session, started with `infra/local/up` on its own ports and run dir (so
it can run beside a running system) and stopped with `infra/local/down --purge` at the
end, also when tests or the start fail.

Environment:
  WDM_BUILD_DIR           the build to run (required unless WDM_TEST_URL is set)
  WDM_TEST_URL            test an already running gateway; start nothing
  WDM_TEST_GATEWAY_PORT   gateway port (default 18000)
  WDM_TEST_PORT_BASE      first port of the other processes (default 17000)
  WDM_TEST_RABBITMQ_PORT, WDM_TEST_RABBITMQ_MGMT_PORT   (default 17672, 17673)
  WDM_TEST_UP_TIMEOUT     seconds `up` may take (default 240)
  WDM_TEST_KEEP_RUN_DIR=1 keep the launcher's output and a copy of the logs (not the data)
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wdmproto  # noqa: E402
from wdmtest import Api  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "infra" / "local"


def _env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v else default


def _port_in_use(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path, n=60):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"({path}: unreadable)"
    return "\n".join(lines[-n:])


def _wait_health(url, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            r = requests.get(url + "/health", timeout=5)
            if r.status_code == 200:
                return None
            last = f"{r.status_code} {r.text[:200]!r}"
        except requests.RequestException as e:
            last = repr(e)
        time.sleep(0.5)
    return last or "timeout"


class Topology:
    def __init__(self):
        self.gateway_port = _env_int("WDM_TEST_GATEWAY_PORT", 18000)
        self.port_base = _env_int("WDM_TEST_PORT_BASE", 17000)
        self.tmp = Path(tempfile.mkdtemp(prefix="wdm-systest-"))
        self.run_dir = self.tmp / "run"      # `up` creates it
        self.up_log = self.tmp / "up.log"
        self.down_log = self.tmp / "down.log"
        self.env = dict(os.environ)
        self.env.update({
            "WDM_RUN_DIR": str(self.run_dir),
            "WDM_GATEWAY_PORT": str(self.gateway_port),
            "WDM_PORT_BASE": str(self.port_base),
            "WDM_RABBITMQ_PORT": str(_env_int("WDM_TEST_RABBITMQ_PORT", 17672)),
            "WDM_RABBITMQ_MGMT_PORT": str(_env_int("WDM_TEST_RABBITMQ_MGMT_PORT", 17673)),
            "WDM_SKIP_INSTALL": "1",
            "WDM_SKIP_BUILD": "1",
            "WDM_BUILD_DIR": os.environ["WDM_BUILD_DIR"],
        })
        self.started = False
        self.stopped = False
        self.down_failed = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.gateway_port}"

    def up(self):
        timeout = _env_int("WDM_TEST_UP_TIMEOUT", 240)
        self.started = True
        # Output to a file, not a pipe: the launcher's children may inherit it.
        with open(self.up_log, "wb") as log:
            p = subprocess.Popen([str(LAUNCHER / "up")], cwd=REPO, env=self.env, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)  # only the `up` we started (its own session)
                p.wait()
                return f"infra/local/up did not finish within {timeout}s"
        if rc != 0:
            return f"infra/local/up exited {rc}"
        why = _wait_health(self.url, 10)
        if why:
            return f"infra/local/up returned 0 but GET /health is not 200: {why}"
        return None

    def save_logs(self):
        """Copies the run dir without its data (down --purge deletes it) into tmp/saved."""
        if self.run_dir.is_dir():
            shutil.copytree(self.run_dir, self.tmp / "saved", symlinks=True, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("data", "*.sock", "*.rdb", "*.aof"),
                            ignore_dangling_symlinks=True)

    def down(self):
        if self.stopped or not self.started:
            return
        self.stopped = True
        if os.environ.get("WDM_TEST_KEEP_RUN_DIR"):
            try:
                self.save_logs()
            except (OSError, shutil.Error) as e:
                sys.stderr.write(f"[systest] could not save the logs: {e}\n")
        try:
            with open(self.down_log, "wb") as log:
                rc = subprocess.run([str(LAUNCHER / "down"), "--purge"], cwd=REPO, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180).returncode
            if rc != 0:
                self.down_failed = f"infra/local/down --purge exited {rc}:\n{_tail(self.down_log)}"
        except subprocess.TimeoutExpired:
            self.down_failed = f"infra/local/down --purge timed out:\n{_tail(self.down_log)}"
        if self.down_failed:
            sys.stderr.write(f"\n[systest] {self.down_failed}\n[systest] logs kept in {self.tmp}\n")
        elif not os.environ.get("WDM_TEST_KEEP_RUN_DIR"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            sys.stderr.write(f"\n[systest] launcher output and logs kept in {self.tmp}\n")


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("WDM_TEST_URL")
    if url:
        url = url.rstrip("/")
        why = _wait_health(url, 10)
        if why:
            pytest.fail(f"WDM_TEST_URL={url}: GET /health is not 200: {why}", pytrace=False)
        yield url
        return

    if not os.environ.get("WDM_BUILD_DIR"):
        pytest.fail("set WDM_BUILD_DIR to the build to test (or WDM_TEST_URL to test a running gateway)",
                    pytrace=False)
    if not os.access(LAUNCHER / "up", os.X_OK) or not os.access(LAUNCHER / "down", os.X_OK):
        pytest.fail(f"{LAUNCHER}/up and down must exist and be executable", pytrace=False)

    topo = Topology()
    if _port_in_use(topo.gateway_port):
        pytest.fail(f"127.0.0.1:{topo.gateway_port} is already in use; set WDM_TEST_GATEWAY_PORT "
                    f"(and WDM_TEST_PORT_BASE) to free ports", pytrace=False)
    atexit.register(topo.down)  # last resort if the session dies before teardown
    try:
        why = topo.up()
    except BaseException:
        topo.down()
        raise
    if why:
        log = _tail(topo.up_log)
        os.environ["WDM_TEST_KEEP_RUN_DIR"] = "1"  # keep the logs to look at
        topo.down()
        pytest.fail(f"{why}\n--- tail of {topo.up_log} ---\n{log}\n(logs saved under {topo.tmp})",
                    pytrace=False)
    try:
        yield topo.url
    finally:
        topo.down()


@pytest.fixture(scope="session")
def api(base_url):
    return Api(base_url)


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    ns, how = wdmproto.load(str(REPO / "proto"), str(tmp_path_factory.mktemp("proto")))
    ns.how = how
    return ns
