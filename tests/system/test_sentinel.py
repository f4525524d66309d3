"""The Sentinels (DESIGN §9, common/store_sentinels.h): they answer only clients that
AUTH, they still find each other (sentinel-pass), and a service uses only a master that
more than half of its configured Sentinels name.

The majority is tested with Sentinels that lie: one is told (SENTINEL REMOVE, then
MONITOR) that the stock group's master is a Redis this test started with the real
password, so a service that believed it would pass AUTH and ROLE there and write to it.
The stock services' connections to the real master are then cut (CLIENT KILL), so their
next call asks the Sentinels again:
  - one liar of three: the write lands in the real master, the fake gets nothing;
  - two liars naming two fakes: no majority, so the service uses neither, logs why and
    retries; once the Sentinels agree again the same call goes through.
Every lie is undone in a finally: the Sentinel monitors the real master again with an
honest Sentinel's settings, and the test waits until it sees the replicas and the
other Sentinels, so the rest of the session is unaffected."""

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from wdmtest import TIMEOUT, expect_ok, free_port

GROUP = "stock"
NO_MAJORITY = "no master is named by more than half"
# What a service sends a master it connects to and uses (store.c), and a Sentinel never
# sends the masters it monitors (those send AUTH, PING, INFO, PUBLISH, SUBSCRIBE, CLIENT).
SERVICE_COMMANDS = ("role", "script|load", "evalsha", "eval", "wait", "hget", "hgetall")


def cli(port, password, *args):
    """One redis-cli command to 127.0.0.1:port, with AUTH password (none when None).
    Returns the CompletedProcess (an error reply is in stdout, a failed AUTH in stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if password is not None:
        env["REDISCLI_AUTH"] = password
    return subprocess.run(["redis-cli", "-p", str(port), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=10)


class Topo:
    """The test topology's Sentinels and the stock group, as its topology.env has them."""

    def __init__(self, env):
        self.env = env
        self.sentinels = [int(p) for p in env["WDM_SENTINEL_PORTS"].split()]
        self.sentinel_pw = env["WDM_SENTINEL_PASSWORD"]
        self.redis_pw = env["WDM_REDIS_PASSWORD"]

    def sentinel(self, port, *args):
        """A Sentinel command's reply lines; an error reply fails the test."""
        r = cli(port, self.sentinel_pw, *args)
        assert r.returncode == 0 and not r.stdout.startswith(("ERR", "NOAUTH", "WRONGPASS")), \
            f"Sentinel :{port} {' '.join(map(str, args))}: {r.stdout}{r.stderr}"
        return r.stdout.splitlines()

    def master_of(self, port):
        """The stock master as the Sentinel on port names it: (host, port)."""
        host, p = self.sentinel(port, "SENTINEL", "get-master-addr-by-name", GROUP)
        return host, int(p)

    def state(self, port):
        """The Sentinel's SENTINEL MASTER fields for the stock group, as a dict."""
        lines = self.sentinel(port, "SENTINEL", "MASTER", GROUP)
        return dict(zip(lines[0::2], lines[1::2]))

    def redis(self, port, *args):
        r = cli(port, self.redis_pw, *args)
        assert r.returncode == 0, f"Redis :{port} {args}: {r.stdout}{r.stderr}"
        return r.stdout.splitlines()

    def cut_service_connections(self, port):
        """Closes every connection to the Redis on port but the Sentinels' own (named
        "sentinel-..."): the services' next call there must connect again, which starts
        with asking the Sentinels."""
        killed = 0
        for line in self.redis(port, "CLIENT", "LIST", "TYPE", "normal"):
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            if f.get("name", "").startswith("sentinel-") or f.get("cmd") == "client|list":
                continue
            killed += int(self.redis(port, "CLIENT", "KILL", "ID", f["id"])[0])
        return killed

    def resolutions(self):
        """wdm_store_master_resolutions_total summed over the stock replicas."""
        total = 0.0
        for a in self.env["WDM_METRICS_ADDRS"].split():
            name, _, hostport = a.partition("=")
            if name.rsplit("-", 1)[0] != GROUP:
                continue
            text = requests.get(f"http://{hostport}/metrics", timeout=TIMEOUT).text
            m = re.search(r"^wdm_store_master_resolutions_total (\S+)$", text, re.M)
            assert m, f"{name}: no wdm_store_master_resolutions_total"
            total += float(m.group(1))
        return total

    def stock_logs(self):
        return sorted(Path(self.env["WDM_LOG_DIR"]).glob(f"{GROUP}-*.log"))


@pytest.fixture(scope="module")
def topo(topology_env):
    return Topo(topology_env)


@contextlib.contextmanager
def fake_master(topo):
    """A Redis with the real password on a free port, empty: what a liar names."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="wdm-fake-master-")
    p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                          "--requirepass", topo.redis_pw, "--save", "", "--appendonly", "no",
                          "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while cli(port, topo.redis_pw, "PING").stdout.strip() != "PONG":
            assert p.poll() is None and time.monotonic() < deadline, "the fake master did not start"
            time.sleep(0.1)
        yield port
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def assert_untouched(topo, fake):
    """No service used the fake: no data, none of the commands a service sends."""
    assert topo.redis(fake, "DBSIZE") == ["0"]
    stats = "\n".join(topo.redis(fake, "INFO", "commandstats"))
    used = [c for c in SERVICE_COMMANDS if f"cmdstat_{c}:" in stats]
    assert not used, f"a service used the fake master :{fake} ({used}):\n{stats}"


@contextlib.contextmanager
def lying(topo, lies, honest):
    """For the block, the Sentinel on each port of `lies` names lies[port] (a fake) as the
    stock master. Then they all monitor the real one again, with the settings of the
    Sentinel on `honest`, and the block ends once each sees the replicas and the other
    Sentinels again (only once all of them are honest: a Sentinel learns of the others
    through the master they monitor)."""
    was = topo.state(honest)
    if was["config-epoch"] != "0":
        # A newer configuration, gossiped by the others, would undo a lie at once.
        pytest.skip(f"the {GROUP} group has failed over (config epoch {was['config-epoch']}): "
                    "a Sentinel cannot be made to lie for long")
    try:
        for liar, fake in lies.items():
            topo.sentinel(liar, "SENTINEL", "REMOVE", GROUP)
            topo.sentinel(liar, "SENTINEL", "MONITOR", GROUP, "127.0.0.1", fake, was["quorum"])
            topo.sentinel(liar, "SENTINEL", "SET", GROUP, "auth-pass", topo.redis_pw)
            assert topo.master_of(liar) == ("127.0.0.1", fake)
        yield
        for liar, fake in lies.items():
            assert topo.master_of(liar) == ("127.0.0.1", fake), f"the lie of :{liar} did not hold"
    finally:
        host, port = topo.master_of(honest)
        settings = [x for k in ("down-after-milliseconds", "failover-timeout", "parallel-syncs")
                    for x in (k, was[k])]
        for liar in lies:
            cli(liar, topo.sentinel_pw, "SENTINEL", "REMOVE", GROUP)  # fails if MONITOR did
            topo.sentinel(liar, "SENTINEL", "MONITOR", GROUP, host, port, was["quorum"])
            topo.sentinel(liar, "SENTINEL", "SET", GROUP, "auth-pass", topo.redis_pw, *settings)
        deadline = time.monotonic() + 30
        for liar in lies:
            while True:
                now = topo.state(liar)
                if all(now[k] == was[k] for k in ("num-slaves", "num-other-sentinels")):
                    break
                assert time.monotonic() < deadline, f"Sentinel :{liar} restored but not back: {now}"
                time.sleep(0.2)


def test_sentinels_want_a_password(topo):
    for port in topo.sentinels:
        r = cli(port, None, "SENTINEL", "get-master-addr-by-name", GROUP)
        assert r.stdout.startswith("NOAUTH"), f":{port} answered without AUTH: {r.stdout!r}"
        r = cli(port, "not-" + topo.sentinel_pw, "SENTINEL", "get-master-addr-by-name", GROUP)
        assert "WRONGPASS" in r.stderr and r.stdout.startswith("NOAUTH"), (r.stdout, r.stderr)
        assert topo.master_of(port)[1] in map(int, topo.env["WDM_REDIS_STOCK_PORTS"].split())
        # ...and with the password they still find each other (sentinel-pass).
        assert topo.state(port)["num-other-sentinels"] == str(len(topo.sentinels) - 1)


def test_one_lying_sentinel_is_outvoted(api, topo):
    item = api.new_item(price=1, stock=5)
    real = topo.master_of(topo.sentinels[1])[1]
    with fake_master(topo) as fake:
        # The first Sentinel listed: a service that took the first answer would use the fake.
        with lying(topo, {topo.sentinels[0]: fake}, honest=topo.sentinels[1]):
            asked = topo.resolutions()
            assert topo.cut_service_connections(real) > 0
            expect_ok(api.post(f"/stock/add/{item}/3"))
            assert topo.resolutions() > asked, "no stock replica asked the Sentinels again"
            assert api.item(item)["stock"] == 8
            assert topo.redis(real, "HGET", f"item:{item}", "stock") == ["8"]
            assert_untouched(topo, fake)


def test_no_majority_no_master(api, topo):
    item = api.new_item(price=1, stock=5)
    s1, s2, s3 = topo.sentinels[:3]
    real = topo.master_of(s3)[1]
    logs = {p: p.stat().st_size for p in topo.stock_logs()}
    answer = {}

    def add():
        try:
            answer["resp"] = requests.post(f"{api.base}/stock/add/{item}/2", timeout=TIMEOUT)
        except requests.RequestException as e:
            answer["error"] = e

    with fake_master(topo) as fake1, fake_master(topo) as fake2:
        with lying(topo, {s1: fake1, s2: fake2}, honest=s3):
            assert topo.cut_service_connections(real) > 0
            adder = threading.Thread(target=add, daemon=True)
            adder.start()
            deadline = time.monotonic() + 15
            said = ""
            while NO_MAJORITY not in said and time.monotonic() < deadline:
                time.sleep(0.1)
                said = "".join(p.read_text(errors="replace")[logs.get(p, 0):]
                               for p in topo.stock_logs())
            assert NO_MAJORITY in said, f"no stock replica logged '{NO_MAJORITY}':\n{said[-2000:]}"
            assert adder.is_alive(), f"answered without a master: {answer}"
            assert_untouched(topo, fake1)
            assert_untouched(topo, fake2)
        # The Sentinels agree again: the call, still retrying, goes through.
        adder.join(TIMEOUT)
    assert "resp" in answer, answer
    expect_ok(answer["resp"])
    assert api.item(item)["stock"] == 7
    assert topo.redis(real, "HGET", f"item:{item}", "stock") == ["7"]
