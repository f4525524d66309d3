"""The chaos suite's handle on a local topology (infra/local): start it, find its
processes by pidfile, kill -9 one of them, bring it back, ask Sentinel for a group's
master, read the order Redis, scan the logs, stop it all.

Nothing here kills by name: a process is found through its pidfile in the run dir and
checked (its command line, not a zombie) before it is signalled, as infra/local does."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from proclib import SANITIZER_RE, proc_start, tail  # noqa: E402
LAUNCHER = REPO / "infra" / "local"
GROUPS = ("order", "stock", "payment")


class RedisError(Exception):
    pass


class Redis:
    """A minimal blocking RESP2 client: enough for AUTH, SENTINEL, ZRANGE, HMGET."""

    def __init__(self, port, password=None, host="127.0.0.1", timeout=3.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        if password:
            self.call("AUTH", password)

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _send(self, cmds):
        buf = bytearray()
        for args in cmds:
            buf += b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                buf += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(buf)

    def _read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by Redis")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RedisError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self.f.read(n + 2)[:-2].decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply line {line[:80]!r}")

    def call(self, *args):
        self._send([args])
        r = self._read()
        if isinstance(r, RedisError):
            raise r
        return r

    def pipeline(self, cmds, chunk=500):
        """Replies (a RedisError object for an error reply) of every command, in order."""
        out = []
        for i in range(0, len(cmds), chunk):
            part = cmds[i:i + chunk]
            self._send(part)
            out.extend(self._read() for _ in part)
        return out


def expected_cmd(name):
    """What NAME's command line must contain (mirrors expected_cmd in infra/local/lib.sh)."""
    if name.startswith("redis-"):
        return "redis-server"
    if name.startswith("sentinel-"):
        return "redis-sentinel"
    if name.startswith("rabbitmq") and "launcher" in name:
        return "rabbitmq-server"
    if name.startswith("rabbitmq"):
        return "beam"
    if name == "epmd":
        return "epmd"
    return "/" + name.split("-")[0]


def pid_alive(name, pid):
    if not pid or proc_start(pid) is None:
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return expected_cmd(name) in cmd


class Topology:
    """One infra/local topology in its own run dir, on the suite's ports."""

    def __init__(self, run_dir, settings, log):
        self.run_dir = Path(run_dir)
        self.log = log
        self.env = dict(os.environ)
        self.env.update({k: str(v) for k, v in settings.items()})
        self.env["WDM_RUN_DIR"] = str(self.run_dir)
        self.up_log = self.run_dir.parent / f"{self.run_dir.name}-launcher.log"
        self.started = False
        self.known_pids = {}     # name -> (pid, start time): every process we ever saw
        self.topo = {}

    # ---- launcher ----

    def _launch(self, args, timeout):
        """Runs infra/local/<args> with our environment, output appended to up_log, in a
        session of its own (so a ^C to the suite does not cut it in half). Returns
        (exit status or None on timeout, seconds)."""
        t0 = time.monotonic()
        with open(self.up_log, "ab") as out:
            out.write(f"\n==== {time.strftime('%F %T')} infra/local/{' '.join(args)}\n".encode())
            out.flush()
            p = subprocess.Popen([str(LAUNCHER / args[0])] + list(args[1:]), cwd=REPO, env=self.env,
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)    # our own launcher's session only
                p.wait()
                rc = None
            except BaseException:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
        return rc, time.monotonic() - t0

    async def _alaunch(self, args, timeout):
        """_launch for the event loop: the load keeps running while `up` works."""
        t0 = time.monotonic()
        with open(self.up_log, "ab") as out:
            out.write(f"\n==== {time.strftime('%F %T')} infra/local/{' '.join(args)}\n".encode())
            out.flush()
            p = await asyncio.create_subprocess_exec(
                str(LAUNCHER / args[0]), *args[1:], cwd=REPO, env=self.env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = await asyncio.wait_for(p.wait(), timeout)
            except BaseException:
                os.killpg(p.pid, signal.SIGKILL)    # our own launcher's session only
                await p.wait()
                if not isinstance(sys.exc_info()[1], asyncio.TimeoutError):
                    raise
                rc = None
        return rc, time.monotonic() - t0

    async def aup(self, timeout=300):
        """infra/local/up: starts whatever is not running and waits until it is ready.
        Returns (ok, seconds, why)."""
        self.started = True
        rc, secs = await self._alaunch(["up"], timeout)
        self.read_topology()
        self.remember_pids()
        if rc == 0:
            return True, secs, ""
        why = f"infra/local/up {'timed out' if rc is None else f'exited {rc}'}"
        return False, secs, f"{why}; tail of {self.up_log}:\n{tail(self.up_log, 30)}"

    def down(self, purge=False):
        """infra/local/down (TERM, then KILL after 10 s). Returns (ok, output tail)."""
        if not (self.run_dir / "topology.env").exists():
            return True, ""
        start = self.up_log.stat().st_size if self.up_log.exists() else 0
        rc, _ = self._launch(["down"] + (["--purge"] if purge else []), 180)
        text = self.up_log.read_text(errors="replace")[start:] if self.up_log.exists() else ""
        return rc == 0, text

    def stop_leftovers(self):
        """KILLs every process we saw that still runs (same pid and start time). Names."""
        left = []
        for name, (pid, start) in self.known_pids.items():
            if proc_start(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                    left.append(f"{name} (pid {pid})")
                except OSError:
                    pass
        return left

    # ---- facts ----

    def read_topology(self):
        f = self.run_dir / "topology.env"
        if not f.exists():
            return {}
        out = subprocess.run(["bash", "-c", 'set -a; . "$1"; env -0', "-", str(f)],
                             check=True, capture_output=True, text=True).stdout
        self.topo = dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)
        return self.topo

    @property
    def password(self):
        return self.topo.get("WDM_REDIS_PASSWORD", "wdm-local")

    @property
    def sentinel_password(self):
        return self.topo.get("WDM_SENTINEL_PASSWORD", "wdm-local-sentinel")

    @property
    def url(self):
        return self.topo.get("WDM_GATEWAY_URL") or f"http://127.0.0.1:{self.env['WDM_GATEWAY_PORT']}"

    @property
    def admin_urls(self):
        """Every gateway's admin listener (/admin/sagas, /metrics), in gateway order."""
        return ["http://" + a.partition("=")[2] for a in self.topo.get("WDM_ADMIN_ADDRS", "").split()]

    def processes(self):
        """Every process name of the topology (WDM_PROCESSES, in start order)."""
        return self.topo.get("WDM_PROCESSES", "").split()

    def pidfile(self, name):
        return self.run_dir / "pids" / f"{name}.pid"

    def pid(self, name):
        try:
            txt = self.pidfile(name).read_text().split()
            return int(txt[0]) if txt else None
        except (OSError, ValueError):
            return None

    def alive(self, name):
        return pid_alive(name, self.pid(name))

    def remember_pids(self):
        for f in (self.run_dir / "pids").glob("*.pid"):
            pid = self.pid(f.stem)
            start = proc_start(pid) if pid else None
            if start is not None:
                self.known_pids[f"{f.stem}@{pid}"] = (pid, start)

    def dead(self, ignore=()):
        """Names of the topology's processes that do not run (besides those in ignore)."""
        out = []
        for name in self.processes():
            if name in ignore:
                continue
            if name.startswith("rabbitmq") and not self.pidfile(name).exists():
                # A node still booting has only its launcher's pidfile.
                if self.alive(name.replace("rabbitmq", "rabbitmq-launcher", 1)):
                    continue
            if not self.alive(name):
                out.append(name)
        return out

    def names_like(self, pattern):
        rx = re.compile(pattern)
        return [n for n in self.processes() if rx.fullmatch(n)]

    def gateways(self):
        return self.names_like(r"gateway(-\d+)?")

    def rabbit_nodes(self):
        return self.names_like(r"rabbitmq(-\d+)?")

    def sentinel_ports(self):
        return [int(p) for p in self.topo.get("WDM_SENTINEL_PORTS", "").split()]

    def redis_ports(self, group):
        return [int(p) for p in self.topo.get(f"WDM_REDIS_{group.upper()}_PORTS", "").split()]

    def master_port(self, group):
        """The port of GROUP's master as the first Sentinel that answers names it."""
        last = None
        for p in self.sentinel_ports():
            try:
                with Redis(p, self.sentinel_password, timeout=1.0) as s:
                    r = s.call("SENTINEL", "get-master-addr-by-name", group)
                if r:
                    return int(r[1])
            except (OSError, RedisError, ConnectionError) as e:
                last = e
        raise ConnectionError(f"no Sentinel names the master of {group}: {last}")

    def master_name(self, group):
        port = self.master_port(group)
        ports = self.redis_ports(group)
        if port not in ports:
            raise ConnectionError(f"Sentinel names {port} as master of {group}, not one of {ports}")
        return f"redis-{group}-{ports.index(port) + 1}", port

    def redis(self, group, timeout=3.0):
        """A connection to GROUP's current master (ROLE checked)."""
        port = self.master_port(group)
        r = Redis(port, self.password, timeout=timeout)
        role = r.call("ROLE")
        if not role or role[0] != "master":
            r.close()
            raise ConnectionError(f"{group}: Sentinel's master :{port} says it is {role and role[0]}")
        return r

    # ---- faults ----

    def kill(self, name):
        """kill -9 NAME (by its pidfile). Returns its pid once it is gone."""
        pid = self.pid(name)
        if not pid_alive(name, pid):
            raise RuntimeError(f"{name} is not running (pid {pid})")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(name, pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        return pid

    # ---- logs ----

    def log_sizes(self):
        out = {}
        for p in (self.run_dir / "logs").rglob("*"):
            if p.is_file():
                out[str(p)] = p.stat().st_size
        return out

    def scan_logs(self, since=None):
        """[(log, excerpt)] for each crash or sanitizer report in the logs (only the bytes
        written after `since`, a log_sizes() result, when given)."""
        found = []
        for p in sorted((self.run_dir / "logs").rglob("*")):
            if not p.is_file() or p.is_symlink():
                continue
            start = (since or {}).get(str(p), 0)
            try:
                with open(p, "rb") as f:
                    f.seek(start)
                    text = f.read().decode(errors="replace")
            except OSError:
                continue
            rx = REDIS_CRASH_RE if p.name.startswith(("redis-", "sentinel-")) else CRASH_RE
            if p.parent.name == "rabbitmq" or p.name.startswith(("rabbitmq", "epmd")):
                continue     # Erlang logs "crash" reports for expected disconnects
            lines = text.splitlines()
            n = 0
            for i, ln in enumerate(lines):
                if rx.search(ln):
                    found.append((str(p.relative_to(self.run_dir)), "\n".join(lines[max(0, i - 2):i + 25])))
                    n += 1
                    if n >= 3:
                        break
        return found


# Sanitizer reports, glibc's abort messages and the like.
CRASH_RE = re.compile(SANITIZER_RE.pattern + r"|Assertion .* failed|"
                      r"stack smashing detected|double free|free\(\): invalid|malloc\(\): |"
                      r"corrupted size|Segmentation fault|core dumped")
REDIS_CRASH_RE = re.compile(r"REDIS BUG REPORT|Redis .* crashed by signal|ASSERTION FAILED")

