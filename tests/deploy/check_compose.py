#!/usr/bin/python3
"""check_compose: checks docker-compose.yml against the sources it runs.

    /usr/bin/python3 tests/deploy/check_compose.py [--compose FILE] [--repo DIR] [--self-test]

What it asserts (each failure is one "FAIL:" line naming the service and the setting):
  - images: ours (build: infra/docker/Dockerfile, context = the repo) or an allowed
    official image (ALLOWED_IMAGES);
  - every `command` of our image names a program CMake builds (add_executable), the
    Dockerfile builds them all, and each service program runs as >= 2 replicas;
  - every WDM_* variable a container of ours gets (environment + env_file) is read by its
    program (a string literal in its directory or in the common/ files it reaches), and
    every variable the program requires (config_str(..., NULL)) is set; WDM_* variables
    of a Redis/Sentinel/RabbitMQ container are read by the entrypoint script it runs;
  - nng: WDM_LISTEN_URL listens on all interfaces; each URL of WDM_<SERVICE>_URLS names a
    compose service running that program on its listen port, and lists every replica;
  - WDM_SENTINELS names every Sentinel service on its port; WDM_RABBITMQ_URL the RabbitMQ
    service; order replicas have unique, stable WDM_REPLICA_IDs;
  - Redis: each group Sentinel monitors is 1 master + 2 replicas (WDM_REDIS_REPLICAOF),
    monitored with quorum 2, down-after 2000 ms, failover-timeout 5000 ms, hostnames on;
    the Redis template has the DESIGN §6 durability settings; 3 Sentinels;
  - published ports include 8000 (a gateway, or the proxy whose servers are every
    gateway) and 15672 (RabbitMQ management); only those (and Prometheus's UI) are
    published, and on 127.0.0.1 only; health checks, restart policies, volumes;
  - a fresh clone runs it: no env_file that is not in the repository; secrets are
    `${NAME:-development default}` (overridable, never a bare literal) and set.
  - monitoring: Prometheus' UI is published on the loopback only and the Redis exporter
    not at all; Prometheus loads the shared rules file (RULES_FILE) and scrapes every
    replica of every program on the port of its metrics listener, every RabbitMQ node on
    the rabbitmq_prometheus port, and every Redis instance through the exporter with its
    group as the label `service`.
--self-test also runs the check on broken copies of the compose file (written to a
temporary directory) and fails unless each of them is rejected with the expected error.
"""

import argparse
import copy
import fnmatch
import glob
import os
import re
import shlex
import sys
import tempfile

try:
    import yaml
except ImportError:  # check_compose.sh installs python3-yaml
    sys.exit("check_compose: needs PyYAML (apt-get install python3-yaml)")

# Official images we use, and what runs in them.
ALLOWED_IMAGES = {
    "redis:7.0": "redis",
    "rabbitmq:3.10-management": "rabbitmq",
    "haproxy:2.6": "haproxy",
    "prom/prometheus:v2.45.0": "prometheus",
    "oliver006/redis_exporter:v1.45.0-alpine": "redis-exporter",
}
OUR_DOCKERFILE = "infra/docker/Dockerfile"
GROUP_SIZE = 3  # a Redis master + 2 replicas (DESIGN §6)
N_SENTINELS = 3
SENTINEL_SETTINGS = {"down-after-milliseconds": "2000", "failover-timeout": "5000"}
REDIS_SETTINGS = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "save": '""',
    "min-replicas-to-write": "1",
    "min-replicas-max-lag": "10",
}
REQUIRED_PORTS = {8000: "the HTTP API", 15672: "the RabbitMQ management UI"}
# The only ports a container may publish on the host (always on 127.0.0.1).
PUBLISHABLE_PORTS = {8000, 15672, 9090}
SECRETS = ("WDM_REDIS_PASSWORD", "WDM_SENTINEL_PASSWORD", "WDM_RABBITMQ_URL")
# Monitoring: Prometheus' config in its container, the rules every deployment shares, the
# variable with the host:port of each program's GET /metrics (the gateway: its internal
# listener; the others WDM_METRICS_ADDR), the rabbitmq_prometheus plugin's port (unless
# rabbitmq.conf sets prometheus.tcp.port), the Redis exporter's port.
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
RULES_FILE = "infra/helm/wdm/files/prometheus-rules.yml"
METRICS_VARS = {"gateway": "WDM_ADMIN_ADDR"}
RABBITMQ_PROMETHEUS_PORT = 15692
EXPORTER_PORT = 9121
LOOPBACK = ("127.0.0.1", "[::1]", "::1")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# ---- reading the sources ----


def strip_comments(text):
    """C text without /* */ and // comments (string literals kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_strings(text):
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)


FUNC_DEF_RE = re.compile(r"^(?!static\b|typedef\b|extern\b|return\b)[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(", re.M)


class Sources:
    """The C sources: which program reads which WDM_* variable, which it requires."""

    def __init__(self, repo):
        self.repo = repo
        # The programs: like infra/local, a program is the executable named after its
        # directory (gateway/ builds gateway), so tests and tools elsewhere do not count.
        self.programs = {}  # name -> directory (relative to repo)
        for cm in sorted(glob.glob(os.path.join(repo, "*", "CMakeLists.txt"))):
            d = os.path.basename(os.path.dirname(cm))
            text = re.sub(r"#.*", "", open(cm).read())
            if d in re.findall(r"add_executable\(\s*([A-Za-z0-9_]+)(?=[\s)])", text):
                self.programs[d] = d
        self.files = {}  # path -> comment-free text
        for d in set(self.programs.values()) | {"common"}:
            for f in sorted(glob.glob(os.path.join(repo, d, "*.c"))):
                if not f.endswith("_test.c"):
                    self.files[os.path.relpath(f, repo)] = strip_comments(open(f).read())
        # Functions defined (not static) in common/, by file.
        self.defines = {}
        for f, text in self.files.items():
            if f.startswith("common/"):
                self.defines[f] = set(
                    m for m in FUNC_DEF_RE.findall(text) if not re.match(r"(if|for|while|switch|sizeof)$", m)
                )

    def program_files(self, program):
        """The program's own .c files and the common/ files they reach (by the
        functions they name, transitively)."""
        d = self.programs[program]
        todo = [f for f in self.files if os.path.dirname(f) == d]
        seen = set(todo)
        while todo:
            idents = set(re.findall(r"\b[A-Za-z_]\w*\b", strip_strings(self.files[todo.pop()])))
            for f, funcs in self.defines.items():
                if f not in seen and funcs & idents:
                    seen.add(f)
                    todo.append(f)
        return sorted(seen)

    def reads(self, program):
        names = set()
        for f in self.program_files(program):
            names |= set(re.findall(r'"(WDM_[A-Z0-9_]+)"', self.files[f]))
        return names

    def requires(self, program):
        """Variables read with config_str(NAME, NULL): no default, so they must be set.
        (Strict: order falls back to the host name for WDM_REPLICA_ID, but in compose a
        container's host name changes when it is re-created, so it must be set anyway.)"""
        names = set()
        for f in self.program_files(program):
            text = self.files[f]
            names |= set(re.findall(r'config_str\(\s*"(WDM_[A-Z0-9_]+)"\s*,\s*NULL\s*\)', text))
            for ident in re.findall(r"config_str\(\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*,\s*NULL\s*\)", text):
                m = re.search(r"\b%s\s*(?:\[[^\]]*\])*\s*=\s*\{([^}]*)\}" % re.escape(ident), text)
                if m:
                    names |= set(re.findall(r'"(WDM_[A-Z0-9_]+)"', m.group(1)))
        return names


# ---- reading the compose file ----


def interpolate(value):
    """Compose's ${VAR:-default} / ${VAR-default} / ${VAR} / $$, with no variables set."""
    if not isinstance(value, str):
        return value

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        body = m.group(1) or m.group(2)
        for sep in (":-", "-", ":?", "?"):
            if sep in body:
                name, rest = body.split(sep, 1)
                return rest if "-" in sep else ""
        return ""

    return re.sub(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_]\w*)", sub, value)


def read_env_file(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        env[k.strip()] = v.strip()
    return env


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def parse_hostport(s, default_port=None):
    m = re.match(r"^\[?([^\]]*?)\]?:(\d+)$", s)
    if m:
        return m.group(1), int(m.group(2))
    return s, default_port


class Checker:
    def __init__(self, compose_path, repo, sources):
        self.path = compose_path
        self.base = repo  # relative paths in the compose file are relative to the repo
        self.src = sources
        self.errors = []
        with open(compose_path) as f:
            self.doc = yaml.safe_load(f)

    def fail(self, msg):
        self.errors.append(msg)

    # -- per-service facts --

    def env_files(self, name, svc):
        env = {}
        for p in as_list(svc.get("env_file")):
            p = p if isinstance(p, str) else p.get("path")
            full = os.path.join(self.base, p)
            if os.path.exists(full):
                env.update(read_env_file(full))
            else:
                self.fail(f"{name}: env_file {p} does not exist: a fresh clone cannot start")
        return env

    @staticmethod
    def environment(svc):
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
        return {k: "" if v is None else str(interpolate(v)) for k, v in env.items()}

    def full_env(self, name, svc):
        env = self.env_files(name, svc)
        env.update(self.environment(svc))
        return env

    def host_path(self, svc, container_path):
        """The repo file a container path comes from (via a bind mount), or None."""
        best = None
        for v in as_list(svc.get("volumes")):
            if isinstance(v, dict):
                src, dst = v.get("source", ""), v.get("target", "")
            else:
                parts = v.split(":")
                if len(parts) < 2:
                    continue
                src, dst = parts[0], parts[1]
            if not src.startswith((".", "/")):
                continue  # a named volume
            if container_path == dst or container_path.startswith(dst.rstrip("/") + "/"):
                if best is None or len(dst) > len(best[1]):
                    best = (src, dst)
        if best is None:
            return None
        rest = container_path[len(best[1]) :].lstrip("/")
        return os.path.normpath(os.path.join(self.base, best[0], rest))

    def command(self, svc):
        cmd = svc.get("command")
        if isinstance(cmd, str):
            cmd = shlex.split(cmd)
        return cmd or []

    def entrypoint_script(self, name, svc):
        ep = svc.get("entrypoint")
        if isinstance(ep, str):
            ep = shlex.split(ep)
        for arg in ep or []:
            if arg.endswith(".sh"):
                p = self.host_path(svc, arg)
                if p is None or not os.path.isfile(p):
                    self.fail(f"{name}: entrypoint script {arg} is not a file mounted from the repo")
                    return None
                return p
        return None

    # -- the checks --

    def run(self):
        services = self.doc.get("services") or {}
        if not services:
            self.fail("no services")
            return self.errors
        self.services = services
        self.kind = {}
        self.program = {}
        self.env = {}
        for name, svc in services.items():
            self.classify(name, svc)
        for name, svc in services.items():
            self.env[name] = self.full_env(name, svc)
        self.check_programs()
        self.check_build_inputs()
        self.check_our_env()
        self.check_listen_and_urls()
        self.check_redis()
        self.check_sentinels_wired()
        self.check_rabbitmq()
        self.check_ports()
        self.check_health_restart_volumes()
        self.check_secrets()
        self.check_monitoring()
        return self.errors

    def classify(self, name, svc):
        image, build = svc.get("image"), svc.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            ctx = os.path.normpath(os.path.join(self.base, build.get("context", ".")))
            df = os.path.normpath(os.path.join(ctx, build.get("dockerfile", "Dockerfile")))
            if ctx != os.path.normpath(self.base) or df != os.path.normpath(os.path.join(self.base, OUR_DOCKERFILE)):
                self.fail(
                    f"{name}: builds {os.path.relpath(df, self.base)} in context "
                    f"{os.path.relpath(ctx, self.base)}; only {OUR_DOCKERFILE} with the repo as "
                    "context is ours"
                )
            self.kind[name] = "ours"
            cmd = self.command(svc)
            prog = os.path.basename(cmd[0]) if cmd else None
            if prog not in self.src.programs:
                self.fail(
                    f"{name}: command {cmd!r} does not name a program CMake builds "
                    f"({', '.join(sorted(self.src.programs))})"
                )
            else:
                self.program[name] = prog
            return
        kind = ALLOWED_IMAGES.get(image)
        if kind is None:
            self.fail(
                f"{name}: image {image!r} is neither built from {OUR_DOCKERFILE} nor an allowed "
                f"official image ({', '.join(sorted(ALLOWED_IMAGES))})"
            )
            self.kind[name] = "unknown"
            return
        if kind == "redis":
            ep = " ".join(as_list(svc.get("entrypoint")))
            kind = "sentinel" if "sentinel" in ep else "redis"
        self.kind[name] = kind

    def of_kind(self, kind):
        return sorted(n for n, k in self.kind.items() if k == kind)

    def running(self, program):
        return sorted(n for n, p in self.program.items() if p == program)

    def check_programs(self):
        images = {self.services[n].get("image") for n in self.of_kind("ours")}
        if len(images) > 1:
            self.fail(f"services built from {OUR_DOCKERFILE} use different image names: {sorted(images, key=str)}")
        dockerfile = os.path.join(self.base, OUR_DOCKERFILE)
        text = open(dockerfile).read() if os.path.exists(dockerfile) else ""
        targets = re.search(r"--target\s+([^\n&\\]*)", text)
        built = set(targets.group(1).split()) if targets else set()
        for p in sorted(self.src.programs):
            if p not in built:
                self.fail(f"{OUR_DOCKERFILE} does not build {p} (cmake --build ... --target)")
            if f"/build/{p}/{p}" not in text:
                self.fail(f"{OUR_DOCKERFILE} does not install {p}")
            n = len(self.running(p))
            want = 1 if p == "gateway" else 2
            if n < want:
                self.fail(f"program {p} runs in {n} service(s); want at least {want}")
        if "HEALTHCHECK" not in text:
            self.fail(f"{OUR_DOCKERFILE} has no HEALTHCHECK")

    def check_build_inputs(self):
        """Every directory the CMake build reads is copied by the Dockerfile and let
        through by .dockerignore (an allowlist), and so is every other COPY source."""
        repo = self.base
        top = re.sub(r"#.*", "", open(os.path.join(repo, "CMakeLists.txt")).read())
        dirs = set(re.findall(r"add_subdirectory\(\s*([\w.-]+)", top))
        for cm in glob.glob(os.path.join(repo, "*", "CMakeLists.txt")) + [os.path.join(repo, "CMakeLists.txt")]:
            dirs |= set(re.findall(r"\$\{CMAKE_SOURCE_DIR\}/([\w.-]+)", open(cm).read()))
        dirs |= {m for m in re.findall(r"(?<![\w/}.$-])([A-Za-z_][\w-]*)/[\w.]", top)}
        dirs = {d for d in dirs if os.path.isdir(os.path.join(repo, d))}
        df_path = os.path.join(repo, OUR_DOCKERFILE)
        dockerfile = open(df_path).read() if os.path.exists(df_path) else ""
        copies = []
        for m in re.finditer(r"^COPY\s+(?!--from)((?:--\S+\s+)*)(.+)$", dockerfile, re.M):
            copies += m.group(2).split()[:-1]
        copied = {c.rstrip("/") for c in copies}
        ignore_path = os.path.join(repo, ".dockerignore")
        ignore = open(ignore_path).read().split("\n") if os.path.exists(ignore_path) else []
        allowed = {l.strip()[1:].rstrip("/") for l in ignore if l.strip().startswith("!")}
        excludes_all = "*" in [l.strip() for l in ignore]
        for d in sorted(dirs | {"CMakeLists.txt"}):
            if d not in copied:
                self.fail(f"{OUR_DOCKERFILE} does not COPY {d}, which the CMake build reads")
        for c in sorted(copied):
            if excludes_all and not any(c == a or c.startswith(a + "/") for a in allowed):
                self.fail(f".dockerignore keeps {c} out of the build context, but {OUR_DOCKERFILE} copies it")
        if "infra/docker/wdm.env" in copied or (not excludes_all and "infra/docker/wdm.env" not in ignore):
            self.fail(".dockerignore must keep infra/docker/wdm.env (passwords) out of the build context")

    def check_our_env(self):
        for name, prog in sorted(self.program.items()):
            env = self.env[name]
            reads, requires = self.src.reads(prog), self.src.requires(prog)
            for var in sorted(env):
                if var.startswith("WDM_") and var not in reads:
                    self.fail(f"{name}: sets {var}, which {prog} does not read")
            for var in sorted(requires):
                if not env.get(var):
                    self.fail(f"{name}: {prog} requires {var}, which is not set")
        for name in self.of_kind("redis") + self.of_kind("sentinel") + self.of_kind("rabbitmq") + \
                self.of_kind("redis-exporter"):
            script = self.entrypoint_script(name, self.services[name])
            if script is None:
                self.fail(f"{name}: runs no entrypoint script of ours (infra/docker/...)")
                continue
            text = open(script).read()
            for var in sorted(self.environment(self.services[name])):
                if var.startswith("WDM_") and not re.search(r"\b%s\b" % var, text):
                    self.fail(f"{name}: sets {var}, which {os.path.relpath(script, self.base)} does not read")

    def listen_port(self, name):
        url = self.env.get(name, {}).get("WDM_LISTEN_URL", "")
        m = re.match(r"^tcp://([^/]+):(\d+)$", url)
        return int(m.group(2)) if m else None

    def check_listen_and_urls(self):
        for name, prog in sorted(self.program.items()):
            if prog == "gateway":
                continue
            url = self.env[name].get("WDM_LISTEN_URL", "")
            m = re.match(r"^tcp://(0\.0\.0\.0|\*|\[::\]):(\d+)$", url)
            if not m:
                self.fail(f"{name}: WDM_LISTEN_URL={url!r}: want tcp://0.0.0.0:<port> (reachable from other containers)")
            if prog == "order":
                rid = self.env[name].get("WDM_REPLICA_ID", "")
                if not ID_RE.match(rid):
                    self.fail(f"{name}: WDM_REPLICA_ID={rid!r}: an order replica needs a stable id of [A-Za-z0-9_-] (it names its event queue)")
        ids = [self.env[n].get("WDM_REPLICA_ID") for n in self.running("order")]
        dups = sorted({i for i in ids if i and ids.count(i) > 1})
        if dups:
            self.fail(f"order replicas share WDM_REPLICA_ID {', '.join(dups)}: each needs its own event queue")

        for name in sorted(self.program):
            for var, value in sorted(self.env[name].items()):
                m = re.match(r"^WDM_([A-Z]+)_URLS$", var)
                if not m:
                    continue
                target = m.group(1).lower()
                if target not in self.src.programs:
                    self.fail(f"{name}: {var}: there is no program {target}")
                    continue
                hosts = []
                for url in [u.strip() for u in value.split(",") if u.strip()]:
                    um = re.match(r"^tcp://([^:/]+):(\d+)$", url)
                    if not um:
                        self.fail(f"{name}: {var}: {url!r} is not tcp://<service>:<port>")
                        continue
                    host, port = um.group(1), int(um.group(2))
                    hosts.append(host)
                    if host not in self.services:
                        self.fail(f"{name}: {var}: {url} names no compose service")
                    elif self.program.get(host) != target:
                        self.fail(f"{name}: {var}: {url}: service {host} does not run {target}")
                    elif self.listen_port(host) != port:
                        self.fail(f"{name}: {var}: {url}: {host} listens on port {self.listen_port(host)}, not {port}")
                missing = sorted(set(self.running(target)) - set(hosts))
                if missing:
                    self.fail(f"{name}: {var} leaves out replica(s) {', '.join(missing)}")
                if len(hosts) != len(set(hosts)):
                    self.fail(f"{name}: {var} lists a replica twice")

    def template(self, name, container_path):
        """Text of a config template mounted into service `name`, or None."""
        p = self.host_path(self.services[name], container_path)
        if p is None or not os.path.isfile(p):
            self.fail(f"{name}: {container_path} is not a file mounted from the repo")
            return None
        return open(p).read()

    def check_redis(self):
        redis, sentinels = self.of_kind("redis"), self.of_kind("sentinel")
        if len(sentinels) != N_SENTINELS:
            self.fail(f"{len(sentinels)} Sentinel services ({', '.join(sentinels) or 'none'}); want {N_SENTINELS}")
        for name in redis + sentinels:
            var = "WDM_REDIS_ANNOUNCE_HOST" if name in redis else "WDM_SENTINEL_ANNOUNCE_HOST"
            if self.env[name].get(var) != name:
                self.fail(f"{name}: {var} must be its service name {name} (the address others reach it by)")
        # Templates (next to the entrypoint script).
        self.redis_port = self.sentinel_port = None
        if redis:
            text = self.template(redis[0], "/etc/wdm/redis/redis.conf")
            if text is not None:
                conf = dict(re.findall(r"^\s*([\w-]+)\s+(.*?)\s*$", text, re.M))
                for k, v in REDIS_SETTINGS.items():
                    if conf.get(k) != v:
                        self.fail(f"redis.conf: want '{k} {v}', have {conf.get(k)!r}")
                self.redis_port = int(conf.get("port", 6379))
        monitors = {}
        if sentinels:
            text = self.template(sentinels[0], "/etc/wdm/redis/sentinel.conf")
            if text is not None:
                lines = [l.split() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
                first_monitor = next((i for i, l in enumerate(lines) if l[:2] == ["sentinel", "monitor"]), len(lines))
                for opt in ("resolve-hostnames", "announce-hostnames"):
                    if ["sentinel", opt, "yes"] not in lines[:first_monitor]:
                        self.fail(f"sentinel.conf: want 'sentinel {opt} yes' before the first monitor")
                for l in lines:
                    if l[0] == "port":
                        self.sentinel_port = int(l[1])
                    if l[:2] == ["sentinel", "monitor"] and len(l) == 6:
                        monitors[l[2]] = (l[3], int(l[4]), l[5])
                for group in monitors:
                    for k, v in SENTINEL_SETTINGS.items():
                        if ["sentinel", k, group, v] not in lines:
                            self.fail(f"sentinel.conf: want 'sentinel {k} {group} {v}'")
        self.monitors = monitors
        # Groups: each monitored master with the replicas pointing at it.
        replicas_of = {}
        for name in redis:
            src = self.env[name].get("WDM_REDIS_REPLICAOF")
            if src:
                host, port = parse_hostport(src, 6379)
                if self.kind.get(host) != "redis":
                    self.fail(f"{name}: WDM_REDIS_REPLICAOF={src}: {host} is not a Redis service")
                elif self.env[host].get("WDM_REDIS_REPLICAOF"):
                    self.fail(f"{name}: WDM_REDIS_REPLICAOF={src}: {host} is itself a replica")
                replicas_of.setdefault(host, []).append(name)
        masters = [n for n in redis if not self.env[n].get("WDM_REDIS_REPLICAOF")]
        monitored = {}
        for group, (host, port, quorum) in sorted(monitors.items()):
            if quorum != "2":
                self.fail(f"sentinel.conf: group {group}: quorum {quorum}; want 2")
            if host not in masters:
                self.fail(f"sentinel.conf: group {group}: {host} is not a Redis master service")
                continue
            if port != self.redis_port:
                self.fail(f"sentinel.conf: group {group}: port {port}; Redis listens on {self.redis_port}")
            monitored[host] = group
            n = 1 + len(replicas_of.get(host, []))
            if n != GROUP_SIZE:
                self.fail(
                    f"Redis group {group}: {n} instance(s) ({', '.join([host] + replicas_of.get(host, []))}); "
                    f"want a master and {GROUP_SIZE - 1} replicas"
                )
        for m in masters:
            if m not in monitored:
                self.fail(f"{m}: a Redis master no Sentinel monitors")
        # Each service program uses its own monitored group.
        used = {}
        for name, prog in sorted(self.program.items()):
            if prog == "gateway":
                continue
            group = self.env[name].get("WDM_REDIS_MASTER") or prog
            if group not in monitors:
                self.fail(f"{name}: Redis group {group!r} is not monitored by the Sentinels ({', '.join(sorted(monitors))})")
            used.setdefault(group, set()).add(prog)
        for group, progs in used.items():
            if len(progs) > 1:
                self.fail(f"Redis group {group} is shared by {', '.join(sorted(progs))}")

    def check_sentinels_wired(self):
        sentinels = set(self.of_kind("sentinel"))
        for name, prog in sorted(self.program.items()):
            if "WDM_SENTINELS" not in self.src.reads(prog):
                continue
            value = self.env[name].get("WDM_SENTINELS", "")
            if not value:
                self.fail(f"{name}: WDM_SENTINELS is not set (the default, 127.0.0.1, is not a Sentinel here)")
                continue
            listed = set()
            for addr in value.split(","):
                host, port = parse_hostport(addr.strip())
                listed.add(host)
                if host not in sentinels:
                    self.fail(f"{name}: WDM_SENTINELS: {addr} is not a Sentinel service ({', '.join(sorted(sentinels))})")
                elif port != self.sentinel_port:
                    self.fail(f"{name}: WDM_SENTINELS: {addr}: Sentinels listen on {self.sentinel_port}")
            if sentinels - listed:
                self.fail(f"{name}: WDM_SENTINELS leaves out {', '.join(sorted(sentinels - listed))}")

    def check_rabbitmq(self):
        brokers = self.of_kind("rabbitmq")
        if len(brokers) != 1:
            self.fail(f"{len(brokers)} RabbitMQ services; want 1")
            return
        broker = brokers[0]
        if self.services[broker].get("hostname") is None:
            self.fail(f"{broker}: set `hostname`: the node name (and its data directory) follow it")
        text = self.template(broker, "/etc/rabbitmq/conf.d/90-wdm.conf") or ""
        m = re.search(r"^listeners\.tcp\.default\s*=\s*(\d+)", text, re.M)
        amqp_port = int(m.group(1)) if m else 5672
        for name, prog in sorted(self.program.items()):
            if "WDM_RABBITMQ_URL" not in self.src.reads(prog):
                continue
            url = self.env[name].get("WDM_RABBITMQ_URL", "")
            um = re.match(r"^amqp://[^:@/]+:[^@/]+@([^:/]+):(\d+)/?$", url)
            if not um:
                self.fail(f"{name}: WDM_RABBITMQ_URL={url!r}: want amqp://USER:PASSWORD@{broker}:{amqp_port}/")
            elif um.group(1) != broker or int(um.group(2)) != amqp_port:
                self.fail(f"{name}: WDM_RABBITMQ_URL points at {um.group(1)}:{um.group(2)}, not {broker}:{amqp_port}")

    def published(self):
        """[(host port, container port, service, host address or "")] of every service."""
        return [(hp, cp, name, ip or "") for name, svc in self.services.items()
                for ip, hp, cp, _ in self.port_specs(svc)]

    def check_ports(self):
        pub = self.published()
        hosts = [h for h, _, _, _ in pub]
        for port, what in REQUIRED_PORTS.items():
            if port not in hosts:
                self.fail(f"no service publishes port {port} ({what})")
        for h in set(hosts):
            if hosts.count(h) > 1:
                self.fail(f"port {h} is published twice")
        gateways = self.running("gateway")
        for host_port, cport, name, addr in pub:
            kind = self.kind.get(name)
            if host_port not in PUBLISHABLE_PORTS:
                self.fail(f"{name}: publishes port {host_port or cport}: only "
                          f"{sorted(PUBLISHABLE_PORTS)} may be reachable from the host")
            if addr != "127.0.0.1":
                self.fail(f"{name}: publishes port {host_port} on {addr or 'every interface'}; "
                          f"bind it to 127.0.0.1 (\"127.0.0.1:{host_port}:{cport}\")")
            if host_port == 15672 and not (kind == "rabbitmq" and cport == 15672):
                self.fail(f"port 15672 goes to {name}:{cport}, not to RabbitMQ's management UI")
            if host_port != 8000:
                continue
            if self.program.get(name) == "gateway":
                gp = int(self.env[name].get("WDM_GATEWAY_PORT") or 8000)
                if gp != cport:
                    self.fail(f"{name}: publishes 8000 to container port {cport}; the gateway listens on {gp}")
            elif kind == "haproxy":
                self.check_proxy(name, cport, gateways)
            else:
                self.fail(f"port 8000 goes to {name}, which is neither a gateway nor the proxy")

    def check_proxy(self, name, cport, gateways):
        text = self.template(name, "/usr/local/etc/haproxy/haproxy.cfg")
        if text is None:
            return
        binds = [int(p) for p in re.findall(r"^\s*bind\s+\S*:(\d+)", text, re.M)]
        if cport not in binds:
            self.fail(f"{name}: publishes 8000 to container port {cport}, but haproxy.cfg binds {binds}")
        servers = re.findall(r"^\s*server\s+\S+\s+([^\s:]+):(\d+)", text, re.M)
        listed = set()
        for host, port in servers:
            listed.add(host)
            if self.program.get(host) != "gateway":
                self.fail(f"haproxy.cfg: server {host}:{port} is not a gateway service")
            elif int(self.env[host].get("WDM_GATEWAY_PORT") or 8000) != int(port):
                self.fail(f"haproxy.cfg: server {host}:{port}: {host} listens on {self.env[host].get('WDM_GATEWAY_PORT') or 8000}")
        missing = sorted(set(gateways) - listed)
        if missing:
            self.fail(f"haproxy.cfg: no server for gateway(s) {', '.join(missing)}")
        deps = self.services[name].get("depends_on") or []
        if missing or not set(gateways) <= set(deps):
            self.fail(f"{name}: depends_on should name every gateway ({', '.join(gateways)})")

    def check_health_restart_volumes(self):
        data_dirs = {"redis": "/data", "sentinel": "/data", "rabbitmq": "/var/lib/rabbitmq",
                     "prometheus": "/prometheus"}
        named = set((self.doc.get("volumes") or {}).keys())
        for name, svc in sorted(self.services.items()):
            kind = self.kind.get(name)
            if svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
                self.fail(f"{name}: restart is {svc.get('restart')!r}; want unless-stopped (or always/on-failure)")
            hc = svc.get("healthcheck")
            if hc and hc.get("disable"):
                self.fail(f"{name}: its health check is disabled")
            if not hc and kind != "ours":  # ours: the image's HEALTHCHECK (checked above)
                self.fail(f"{name}: no healthcheck")
            if kind in data_dirs:
                ok = False
                for v in as_list(svc.get("volumes")):
                    parts = v.split(":") if isinstance(v, str) else [v.get("source", ""), v.get("target", "")]
                    if len(parts) >= 2 and parts[1] == data_dirs[kind] and parts[0] in named:
                        ok = True
                if not ok:
                    self.fail(f"{name}: no named volume on {data_dirs[kind]} (its data would not survive re-creation)")
            for dep in svc.get("depends_on") or []:
                if dep not in self.services:
                    self.fail(f"{name}: depends_on {dep}, which is no service")

    def check_secrets(self):
        for name, svc in sorted(self.services.items()):
            raw = svc.get("environment") or {}
            if isinstance(raw, list):
                raw = dict(e.split("=", 1) if "=" in e else (e, "") for e in raw)
            for var in SECRETS:
                if var in raw and not re.fullmatch(r"\$\{%s:-[^}]+\}" % var, str(raw[var])):
                    self.fail(f"{name}: {var} is a secret: give it as ${{{var}:-development default}} "
                              f"so that it can be overridden, not as {str(raw[var])!r}")
        for name in sorted(self.program):
            if self.program[name] == "gateway":
                continue
            for var in SECRETS:
                if not self.env[name].get(var):
                    self.fail(f"{name}: {var} is not set")
        for name in self.of_kind("redis-exporter"):
            if not self.env[name].get("WDM_REDIS_PASSWORD"):
                self.fail(f"{name}: WDM_REDIS_PASSWORD is not set; the exporter logs in with it")

    # -- monitoring --

    @staticmethod
    def port_specs(svc):
        """[(host IP or None, host port (0: a random one), container port, the spec as
        written)] of a service's published ports."""
        out = []
        for p in as_list(svc.get("ports")):
            if isinstance(p, dict):
                if p.get("published") is not None:
                    out.append((p.get("host_ip"), int(interpolate(str(p["published"]))), int(p["target"]), p))
                continue
            m = re.match(r"^(?:(?:(\[[^\]]*\]|[^:\[]*):)?(\d+):)?(\d+)(?:/\w+)?$", interpolate(str(p)))
            if m:
                out.append((m.group(1), int(m.group(2) or 0), int(m.group(3)), p))
        return out

    @staticmethod
    def static_targets(job):
        """[(host, port, labels)] of a scrape job's static_configs."""
        out = []
        for sc in job.get("static_configs") or []:
            for t in sc.get("targets") or []:
                host, port = parse_hostport(str(t))
                out.append((host, port, sc.get("labels") or {}))
        return out

    def job_targets(self, name, job, want):
        """A job's static targets (as static_targets), after failing on any of the compose
        services `want` it leaves out."""
        targets = self.static_targets(job)
        missing = sorted(set(want) - {h for h, _, _ in targets})
        if missing:
            self.fail(f"prometheus.yml: job {name} leaves out {', '.join(missing)}")
        return targets

    def bind_mounts(self, svc):
        """[(repo path, container path)] of a service's bind mounts."""
        out = []
        for v in as_list(svc.get("volumes")):
            src, dst = (v.get("source", ""), v.get("target", "")) if isinstance(v, dict) else (v.split(":") + [""])[:2]
            if src.startswith((".", "/")):
                out.append((os.path.normpath(os.path.join(self.base, src)), dst))
        return out

    def check_monitoring(self):
        for name in sorted(self.services):
            kind = self.kind.get(name)
            for ip, host_port, _, spec in self.port_specs(self.services[name]):
                if kind == "redis-exporter":
                    self.fail(f"{name}: publishes {spec}: the exporter must stay inside the compose network "
                              "(it hands any caller a Redis instance's INFO)")
                elif kind == "prometheus" and ip not in LOOPBACK:
                    self.fail(f"{name}: publishes {spec} on every interface: the Prometheus UI has no login, "
                              "publish it on 127.0.0.1 only")
        proms, exporters = self.of_kind("prometheus"), self.of_kind("redis-exporter")
        if not proms:
            if exporters:
                self.fail(f"{', '.join(exporters)}: a Redis exporter without a prometheus service")
            return
        if len(proms) > 1:
            self.fail(f"{len(proms)} prometheus services ({', '.join(proms)}); want 1")
        prom = proms[0]
        text = self.template(prom, PROMETHEUS_CONFIG)
        if text is None:
            return
        conf = yaml.safe_load(text) or {}
        rules = os.path.normpath(os.path.join(self.base, RULES_FILE))
        patterns = [str(p) for p in conf.get("rule_files") or []]
        targets = [dst for src, dst in self.bind_mounts(self.services[prom]) if src == rules]
        if not any(fnmatch.fnmatch(t, p) for t in targets for p in patterns):
            self.fail(f"{prom}: {RULES_FILE} is not mounted where prometheus.yml's rule_files "
                      f"({', '.join(patterns) or 'none'}) look")
        jobs = {j.get("job_name"): j for j in conf.get("scrape_configs") or []}
        self.check_program_jobs(jobs)
        self.check_rabbitmq_job(jobs.get("rabbitmq"))
        self.check_redis_job(jobs.get("redis"), exporters)

    def check_program_jobs(self, jobs):
        """Job <program> scrapes every replica of it on its metrics listener's port."""
        for prog in sorted(self.src.programs):
            job = jobs.get(prog)
            if job is None:
                self.fail(f"prometheus.yml: no job {prog} (to scrape {', '.join(self.running(prog))})")
                continue
            var = METRICS_VARS.get(prog, "WDM_METRICS_ADDR")
            targets = self.job_targets(prog, job, self.running(prog))
            for host, port, _ in targets:
                if self.program.get(host) != prog:
                    self.fail(f"prometheus.yml: job {prog}: {host}:{port} is no compose service running {prog}")
                    continue
                # A program that has no such listener (yet) is not checked: its target is down.
                if var not in self.src.reads(prog):
                    continue
                addr = self.env[host].get(var, "")
                h, p = parse_hostport(addr) if addr else (None, None)
                if not addr:
                    self.fail(f"{host}: scraped on port {port}, but {var} is not set (no metrics listener)")
                elif p != port:
                    self.fail(f"prometheus.yml: job {prog}: {host}:{port}, but {host} serves metrics on {var}={addr}")
                elif h in LOOPBACK or h == "localhost":
                    self.fail(f"{host}: {var}={addr} cannot be reached from the prometheus container")

    def check_rabbitmq_job(self, job):
        """Job rabbitmq scrapes every broker on the rabbitmq_prometheus plugin's port, which
        the image enables (unless an enabled_plugins file of ours leaves it out)."""
        brokers = self.of_kind("rabbitmq")
        if job is None:
            self.fail(f"prometheus.yml: no job rabbitmq (to scrape {', '.join(brokers)})")
            return
        port = RABBITMQ_PROMETHEUS_PORT
        for broker in brokers:
            conf = self.host_path(self.services[broker], "/etc/rabbitmq/conf.d/90-wdm.conf")
            m = conf and os.path.isfile(conf) and \
                re.search(r"^prometheus\.tcp\.port\s*=\s*(\d+)", open(conf).read(), re.M)
            if m:
                port = int(m.group(1))
            plugins = self.host_path(self.services[broker], "/etc/rabbitmq/enabled_plugins")
            if plugins and os.path.isfile(plugins) and "rabbitmq_prometheus" not in open(plugins).read():
                self.fail(f"{broker}: its enabled_plugins leaves out rabbitmq_prometheus (the metrics on {port})")
        targets = self.job_targets("rabbitmq", job, brokers)
        for host, p, _ in targets:
            if self.kind.get(host) != "rabbitmq":
                self.fail(f"prometheus.yml: job rabbitmq: {host} is no RabbitMQ service")
            elif p != port:
                self.fail(f"prometheus.yml: job rabbitmq: {host}:{p}, but rabbitmq_prometheus listens on {port}")

    def check_redis_job(self, job, exporters):
        """Job redis asks the exporter (/scrape?target=) for every Redis instance, each
        labelled service=<its group>."""
        redis = self.of_kind("redis")
        if job is None:
            self.fail(f"prometheus.yml: no job redis (to scrape {', '.join(redis)} through an exporter)")
            return
        if job.get("metrics_path") != "/scrape":
            self.fail("prometheus.yml: job redis: metrics_path must be /scrape (the exporter's multi-target endpoint)")
        rules = job.get("relabel_configs") or []
        if not any(r.get("source_labels") == ["__address__"] and r.get("target_label") == "__param_target"
                   for r in rules):
            self.fail("prometheus.yml: job redis: no relabeling of __address__ to __param_target (the target)")
        to = [r.get("replacement", "") for r in rules if r.get("target_label") == "__address__"]
        host, port = parse_hostport(to[-1]) if to else (None, None)
        if host not in exporters or port != EXPORTER_PORT:
            self.fail(f"prometheus.yml: job redis: __address__ becomes {to[-1] if to else 'nothing'}, "
                      f"not a redis-exporter service on {EXPORTER_PORT} ({', '.join(exporters) or 'none'})")
        group_of = {h: g for g, (h, _, _) in self.monitors.items()}
        for name in redis:
            src = self.env[name].get("WDM_REDIS_REPLICAOF")
            if src:
                group_of[name] = group_of.get(parse_hostport(src, 6379)[0])
        targets = self.job_targets("redis", job, redis)
        for h, p, labels in targets:
            if self.kind.get(h) != "redis":
                self.fail(f"prometheus.yml: job redis: {h} is no Redis service")
                continue
            if p != self.redis_port:
                self.fail(f"prometheus.yml: job redis: {h}:{p}, but Redis listens on {self.redis_port}")
            if labels.get("service") != group_of.get(h):
                self.fail(f"prometheus.yml: job redis: {h} has service={labels.get('service')}, not its group {group_of.get(h)}")


def check(compose, repo, sources=None):
    sources = sources or Sources(repo)
    if not sources.programs:
        return ["no add_executable in the CMakeLists.txt files"]
    return Checker(compose, repo, sources).run()


# ---- self-test: broken copies must fail ----


def _env(doc, svc):
    return doc["services"][svc].setdefault("environment", {})


def _set_env(svc, var, value):
    def f(doc):
        env = dict(_env(doc, svc))
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
        doc["services"][svc]["environment"] = env

    return f


def _delete(svc):
    def f(doc):
        del doc["services"][svc]
        for s in doc["services"].values():
            deps = s.get("depends_on")
            if isinstance(deps, dict):
                deps.pop(svc, None)

    return f


def _set(svc, key, value):
    def f(doc):
        doc["services"][svc][key] = value

    return f


def _drop_port(port):
    def f(doc):
        for s in doc["services"].values():
            if "ports" in s:
                s["ports"] = [p for p in s["ports"] if f"{port}:" not in str(p)]

    return f


# (what is broken, change to the compose document, change to repo files, expected error)
MUTATIONS = [
    ("a URL names the wrong port", _set_env("order-2", "WDM_LISTEN_URL", "tcp://0.0.0.0:7049"), "listens on port 7049, not 7040"),
    ("a command names no program", _set("gateway-1", "command", ["gatewy"]), "does not name a program"),
    ("a group has one replica", _delete("redis-stock-3"), "Redis group stock: 2 instance(s)"),
    ("a variable the program does not read", _set_env("stock-1", "WDM_SAGA_LEASE_MS", "5000"), "which stock does not read"),
    ("a required variable is missing", _set_env("order-1", "WDM_STOCK_URLS", None), "requires WDM_STOCK_URLS"),
    ("an image that is not allowed", _set("redis-order-1", "image", "redis:latest"), "neither built from"),
    ("port 15672 not published", _drop_port(15672), "publishes port 15672"),
    ("port 8000 not published", _drop_port(8000), "publishes port 8000"),
    ("a Sentinel that does not exist", _set_env("payment-1", "WDM_SENTINELS", "sentinel-1:26379,sentinel-2:26379,sentinel-4:26379"), "sentinel-4:26379 is not a Sentinel"),
    ("two Sentinels", _delete("sentinel-3"), "2 Sentinel services"),
    ("a replica left out of the URLs", _set_env("order-1", "WDM_PAYMENT_URLS", "tcp://payment-1:7060"), "leaves out replica(s) payment-2"),
    ("a URL to a service running another program", _set_env("order-2", "WDM_STOCK_URLS", "tcp://stock-1:7050,tcp://payment-2:7060"), "does not run stock"),
    ("a listen URL on loopback", _set_env("stock-2", "WDM_LISTEN_URL", "tcp://127.0.0.1:7050"), "want tcp://0.0.0.0"),
    ("order replicas with one replica id", _set_env("order-2", "WDM_REPLICA_ID", "order-1"), "share WDM_REPLICA_ID order-1"),
    ("a secret inline", _set_env("stock-1", "WDM_REDIS_PASSWORD", "x"), "is a secret"),
    ("a secret without its default", _set_env("payment-2", "WDM_RABBITMQ_URL", "${WDM_RABBITMQ_URL}"), "is a secret"),
    ("an env file a fresh clone lacks", _set("stock-2", "env_file", "infra/docker/wdm.env"), "a fresh clone cannot start"),
    ("the API on every interface", _set("proxy", "ports", ["8000:8000"]), "on every interface"),
    ("Redis published", _set("redis-order-1", "ports", ["127.0.0.1:6379:6379"]), "publishes port 6379"),
    ("no restart policy", _set("sentinel-2", "restart", "no"), "restart is 'no'"),
    ("a Redis variable its entrypoint does not read", _set_env("redis-order-2", "WDM_REDIS_REPLICA_OF", "redis-order-1"), "does not read"),
    ("a gateway the proxy does not know", lambda d: d["services"].__setitem__("gateway-3", copy.deepcopy(d["services"]["gateway-1"])), "no server for gateway(s) gateway-3"),
    ("a Dockerfile that does not copy proto/", {OUR_DOCKERFILE: lambda t: t.replace("COPY proto/ proto/\n", "")}, "does not COPY proto"),
    (".dockerignore that keeps order/ out", {".dockerignore": lambda t: t.replace("!order/\n", "")}, "keeps order out of the build context"),
    ("a Sentinel quorum of 1", {"infra/docker/redis/sentinel.conf": lambda t: t.replace("redis-stock-1 6379 2", "redis-stock-1 6379 1")}, "group stock: quorum 1"),
    ("Redis without min-replicas-to-write", {"infra/docker/redis/redis.conf": lambda t: t.replace("min-replicas-to-write 1", "min-replicas-to-write 0")}, "min-replicas-to-write 1"),
    ("the Prometheus UI on every interface", _set("prometheus", "ports", ["9090:9090"]), "publish it on 127.0.0.1 only"),
    ("the Redis exporter published", _set("redis-exporter", "ports", ["9121:9121"]), "must stay inside the compose network"),
    ("the rules not mounted", _set("prometheus", "volumes", ["prometheus:/prometheus", "./infra/docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"]), "is not mounted where prometheus.yml's rule_files"),
    ("a replica Prometheus does not scrape", {"infra/docker/prometheus/prometheus.yml": lambda t: t.replace(", stock-2:9100", "")}, "job stock leaves out stock-2"),
    ("a metrics listener on another port", _set_env("payment-2", "WDM_METRICS_ADDR", "0.0.0.0:9101"), "serves metrics on WDM_METRICS_ADDR=0.0.0.0:9101"),
    ("RabbitMQ scraped on the management port", {"infra/docker/prometheus/prometheus.yml": lambda t: t.replace("rabbitmq:15692", "rabbitmq:15672")}, "rabbitmq_prometheus listens on 15692"),
    ("a Redis instance not scraped", {"infra/docker/prometheus/prometheus.yml": lambda t: t.replace(", redis-payment-3:6379", "")}, "job redis leaves out redis-payment-3"),
    ("a Redis instance in another group", {"infra/docker/prometheus/prometheus.yml": lambda t: t.replace("{service: stock}", "{service: order}")}, "has service=order, not its group stock"),
    ("Redis scraped without the exporter", {"infra/docker/prometheus/prometheus.yml": lambda t: t.replace("replacement: redis-exporter:9121", "replacement: redis-exporter:9100")}, "not a redis-exporter service on 9121"),
]


def repo_copy(repo, dst, files):
    """A view of repo at dst: symlinks to everything, except real copies of `files`
    (relative paths) with their changes applied."""
    repo = os.path.abspath(repo)
    os.makedirs(dst)
    changed_dirs = {os.path.dirname(f) for f in files}
    for root, dirs, names in os.walk(repo):
        rel = os.path.relpath(root, repo)
        rel = "" if rel == "." else rel
        keep = [d for d in dirs if any(c == os.path.join(rel, d) or c.startswith(os.path.join(rel, d) + "/") for c in changed_dirs)]
        for entry in dirs + names:
            path = os.path.join(rel, entry)
            if entry in keep:
                os.makedirs(os.path.join(dst, path))
            elif path in files:
                with open(os.path.join(repo, path)) as f:
                    text = files[path](f.read())
                with open(os.path.join(dst, path), "w") as f:
                    f.write(text)
            else:
                os.symlink(os.path.join(repo, path), os.path.join(dst, path))
        dirs[:] = keep


def self_test(compose, repo):
    sources = Sources(repo)
    base = yaml.safe_load(open(compose))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="check_compose.") as tmp:
        for i, (what, change, expect) in enumerate(MUTATIONS):
            doc, where = copy.deepcopy(base), repo
            if isinstance(change, dict):
                where = os.path.join(tmp, f"repo-{i:02d}")
                repo_copy(repo, where, change)
            else:
                change(doc)
            path = os.path.join(tmp, f"broken-{i:02d}.yml")
            with open(path, "w") as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            errors = check(path, where, sources if where == repo else None)
            if any(expect in e for e in errors):
                print(f"  ok: rejects {what}")
            else:
                failed += 1
                print(f"FAIL: self-test: a copy with {what} was not rejected with '{expect}'; errors: {errors or 'none'}")
    return failed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--compose", help="the compose file [<repo>/docker-compose.yml]")
    ap.add_argument("--self-test", action="store_true", help="also check that broken copies fail")
    args = ap.parse_args()
    compose = args.compose or os.path.join(args.repo, "docker-compose.yml")

    errors = check(compose, args.repo)
    for e in errors:
        print(f"FAIL: {compose}: {e}")
    if errors:
        print(f"check_compose: {len(errors)} problem(s) in {compose}")
        return 1
    print(f"check_compose: {compose} is consistent with the sources")
    if args.self_test:
        if self_test(compose, args.repo):
            print("check_compose: the self-test failed: the check misses broken compose files")
            return 1
        print(f"check_compose: self-test passed ({len(MUTATIONS)} broken copies rejected)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
