"""System-test harness.

One topology per session, started with `infra/local/up` on its own ports and run dir (so
it can run beside a running system) and stopped with `infra/local/down --purge` at the
end, also when tests or the start fail.

Environment:
  WDM_BUILD_DIR           the build to run (required unless WDM_TEST_URL is set)
  WDM_TEST_URL            test an already running gateway; start nothing
  WDM_TEST_ADMIN_URL      with WDM_TEST_URL: that gateway's admin listener (/metrics,
                          /admin/sagas); tests that need it are skipped without it
  WDM_TEST_GATEWAY_PORT   gateway port (default 18000)
  WDM_TEST_PORT_BASE      first port of the other processes (default 17000)
  WDM_TEST_RABBITMQ_PORT, WDM_TEST_RABBITMQ_MGMT_PORT   (default 17672, 17673)
  WDM_TEST_PROMETHEUS_PORT  Prometheus's (default 17690)
  WDM_TEST_UP_TIMEOUT     seconds `up` may take (default 240)
  WDM_TEST_KEEP_RUN_DIR=1 keep the launcher's output and a copy of the logs (not the data)
  WDM_TEST_VARIANT        the build's variant (tests/run: plain, asan); only shown in reports

Sanitizers: `up` gets ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 and
UBSAN_OPTIONS=print_stacktrace=1 unless they are set already. At the end the topology is
stopped (`down`: TERM, so LeakSanitizer runs as each service exits), every log in the run
dir's logs/ is scanned for sanitizer reports, and only then is the run dir purged. A
report, one of our programs that had to be KILLed because it ignored TERM, a process
still running after `down` (the harness remembers every pid `up` started and stops
those), or a failing `down` fails the session (exit status 1), with the excerpt printed
and the logs kept.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import wdmproto  # noqa: E402
from proclib import IGNORED_TERM_RE, SANITIZER_RE, proc_start, tail  # noqa: E402
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


EXCERPT_LINES = 60
MAX_REPORTS_PER_LOG = 3

# Problems found after the topology stopped; pytest_sessionfinish fails the session on them.
SESSION_PROBLEMS = []
_SESSION_FINISHED = False


def scan_sanitizer_reports(log_dir):
    """[(log path, excerpt)] of every sanitizer report in the logs under log_dir."""
    found = []
    for path in sorted(Path(log_dir).rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        n = 0
        i = 0
        while i < len(lines) and n < MAX_REPORTS_PER_LOG:
            if not SANITIZER_RE.search(lines[i]):
                i += 1
                continue
            start = i
            if start > 0 and lines[start - 1].startswith("====="):
                start -= 1          # ASan's "=================" rule above its ERROR line
            end = min(len(lines), start + EXCERPT_LINES)
            for j in range(i + 1, end):     # a report ends with its SUMMARY line
                if lines[j].startswith("SUMMARY: "):
                    end = j + 1
                    break
            if lines[i].startswith("SUMMARY: "):
                end = i + 1                 # a lone UBSan summary after its runtime error
            excerpt = "\n".join(lines[start:end])
            if end - start >= EXCERPT_LINES:
                excerpt += "\n[...]"
            found.append((str(path), f"lines {start + 1}-{end}:\n{excerpt}"))
            n += 1
            i = end
        if n == MAX_REPORTS_PER_LOG and any(SANITIZER_RE.search(ln) for ln in lines[i:]):
            found.append((str(path), "(more reports follow in this log)"))
    return found


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
            "WDM_PROMETHEUS_PORT": str(_env_int("WDM_TEST_PROMETHEUS_PORT", 17690)),
            "WDM_SKIP_INSTALL": "1",
            "WDM_SKIP_BUILD": "1",
            "WDM_BUILD_DIR": os.environ["WDM_BUILD_DIR"],
        })
        # Passed through `up` to every process; only the sanitizer builds read them.
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.started = False
        self.stopped = False
        self.down_failed = None
        self.pids = {}       # pidfile name -> (pid, start time), see record_pids

    @property
    def url(self):
        return f"http://127.0.0.1:{self.gateway_port}"

    def up(self):
        timeout = _env_int("WDM_TEST_UP_TIMEOUT", 240)
        self.started = True
        # Output to a file, not a pipe: the launcher's children may inherit it.
        try:
            with open(self.up_log, "wb") as log:
                p = subprocess.Popen([str(LAUNCHER / "up")], cwd=REPO, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
                try:
                    rc = p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)  # only the `up` we started (its own session)
                    p.wait()
                    return f"infra/local/up did not finish within {timeout}s"
        finally:
            self.record_pids()
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

    def record_pids(self):
        """Remembers every process of the topology (pidfile name -> (pid, start time)), so
        that the harness can still stop them if the run dir (its pidfiles) is lost."""
        for f in (self.run_dir / "pids").glob("*.pid"):
            try:
                pid = int(f.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            start = proc_start(pid)
            if start is not None:
                self.pids[f.stem] = (pid, start)

    def stop_leftovers(self):
        """TERM, then after 10 s KILL, every recorded process that still runs (the same pid
        and start time, so never somebody else's). Returns their names."""
        left = {n: pid for n, (pid, start) in self.pids.items() if proc_start(pid) == start}
        for pid in left.values():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(proc_start(p) == self.pids[n][1] for n, p in left.items()):
            time.sleep(0.1)
        for n, pid in left.items():
            if proc_start(pid) == self.pids[n][1]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return sorted(f"{n} (pid {pid})" for n, pid in left.items())

    def _launcher(self, args):
        """Runs infra/local/<args>, output appended to down.log; returns None or why it failed."""
        what = "infra/local/" + " ".join(args)
        try:
            with open(self.down_log, "ab") as log:
                rc = subprocess.run([str(LAUNCHER / args[0])] + args[1:], cwd=REPO, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180).returncode
        except subprocess.TimeoutExpired:
            return f"{what} timed out:\n{tail(self.down_log)}"
        except OSError as e:
            return f"could not run {what}: {e}"
        if rc != 0:
            return f"{what} exited {rc}:\n{tail(self.down_log)}"
        return None

    def down(self):
        """Stops the topology (TERM, so the sanitizers report at exit), scans the logs for
        sanitizer reports, then purges the run dir (unless something is worth keeping).
        Anything wrong on the way is a session problem (see pytest_sessionfinish)."""
        if self.stopped or not self.started:
            return
        self.stopped = True
        problems = []
        variant = os.environ.get("WDM_TEST_VARIANT", "")
        tag = f" ({variant} build)" if variant else ""
        keep = True
        try:
            self.record_pids()
            self.down_failed = self._launcher(["down"])
            log_dir = self.run_dir / "logs"
            for path, excerpt in scan_sanitizer_reports(log_dir):
                problems.append(f"sanitizer report{tag} in logs/{Path(path).relative_to(log_dir)}, {excerpt}")
            try:
                lines = Path(self.down_log).read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            for ln in lines:
                if IGNORED_TERM_RE.match(ln):
                    problems.append(f"infra/local/down{tag}: {ln} (it must exit on TERM; "
                                    f"its leak check did not run)")
            keep = bool(problems) or self.down_failed or os.environ.get("WDM_TEST_KEEP_RUN_DIR")
            if keep:
                try:
                    self.save_logs()
                except (OSError, shutil.Error) as e:
                    sys.stderr.write(f"[systest] could not save the logs: {e}\n")
        finally:
            left = self.stop_leftovers()
        if left:
            problems.append(f"still running after infra/local/down{tag} (the harness stopped them): "
                            + ", ".join(left))
        if self.down_failed:
            problems.append(self.down_failed)
        else:
            why = self._launcher(["down", "--purge"])
            if why:
                problems.append(why)
        if problems or keep:
            sys.stderr.write(f"\n[systest] launcher output and logs kept in {self.tmp}\n")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for p in problems:
            p = f"{p}\n(launcher output and the run dir's logs are kept in {self.tmp})"
            if _SESSION_FINISHED:       # from atexit: pytest has reported already
                sys.stderr.write(f"\n[systest] {p}\n")
            SESSION_PROBLEMS.append(p)


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
        shutil.rmtree(topo.tmp, ignore_errors=True)
        pytest.fail(f"127.0.0.1:{topo.gateway_port} is already in use; set WDM_TEST_GATEWAY_PORT "
                    f"(and WDM_TEST_PORT_BASE) to free ports", pytrace=False)
    atexit.register(topo.down)  # last resort if the session dies before teardown
    try:
        why = topo.up()
    except BaseException:
        topo.down()
        raise
    if why:
        log = tail(topo.up_log)
        os.environ["WDM_TEST_KEEP_RUN_DIR"] = "1"  # keep the logs to look at
        topo.down()
        pytest.fail(f"{why}\n--- tail of {topo.up_log} ---\n{log}\n(logs saved under {topo.tmp})",
                    pytrace=False)
    global _RUN_DIR
    _RUN_DIR = topo.run_dir
    try:
        yield topo.url
    finally:
        topo.down()


_RUN_DIR = None   # the run dir of the topology base_url started


@pytest.fixture(scope="session")
def topology_env(base_url):
    """The test topology's topology.env (ports, pid dir, password) as a dict. With
    WDM_TEST_URL, the run dir comes from WDM_TEST_RUN_DIR (else such tests are skipped)."""
    run_dir = _RUN_DIR or os.environ.get("WDM_TEST_RUN_DIR")
    if not run_dir:
        pytest.skip("no run dir: set WDM_TEST_RUN_DIR along with WDM_TEST_URL")
    out = subprocess.run(["bash", "-c", 'set -a; . "$1/topology.env"; env -0', "-", str(run_dir)],
                         check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)


@pytest.fixture(scope="session")
def api(base_url):
    return Api(base_url)


@pytest.fixture(scope="session")
def admin_url(request, base_url):
    """The admin listener (/metrics, /admin/sagas) of a gateway of the topology: its
    topology.env's WDM_ADMIN_URL, or WDM_TEST_ADMIN_URL."""
    url = os.environ.get("WDM_TEST_ADMIN_URL", "").rstrip("/")
    if not url:
        try:
            url = request.getfixturevalue("topology_env").get("WDM_ADMIN_URL", "")
        except pytest.skip.Exception:
            url = ""
    if not url:
        pytest.skip("no admin listener: set WDM_TEST_ADMIN_URL along with WDM_TEST_URL")
    return url


@pytest.fixture(scope="session")
def admin(admin_url):
    return Api(admin_url)


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    ns, how = wdmproto.load(str(REPO / "proto"), str(tmp_path_factory.mktemp("proto")))
    ns.how = how
    return ns


def _terminated(signum, frame):
    # Once: the topology's teardown that follows must not be cut short by a second TERM.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A TERM (e.g. from `timeout` in CI) ends the session like ^C: the fixtures are torn
    # down, so the topology is stopped rather than left running.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


@pytest.hookimpl(trylast=True)     # after the runner's own sessionfinish tears the fixtures down
def pytest_sessionfinish(session, exitstatus):
    global _SESSION_FINISHED
    _SESSION_FINISHED = True
    if not SESSION_PROBLEMS:
        return
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_sep("=", "sanitizer reports / unclean shutdown after the topology stopped", red=True)
        for p in SESSION_PROBLEMS:
            tr.write_line(p)
            tr.write_line("")
    if session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
