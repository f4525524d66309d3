#!/usr/bin/python3
"""consistency.py RENDERED.yaml [REPO]: checks that the rendered manifests fit together
and fit the programs (what a schema cannot see). Prints one line per problem; exit 1 if
there was any.

- Our programs' containers (command /usr/local/bin/<program>): every WDM_* variable set
  is one the program reads (string literals "WDM_..." in its directory and in the
  common/ modules it uses, found by the functions it calls), the required ones are set,
  order's WDM_REPLICA_ID is its pod name in a StatefulSet, WDM_LISTEN_URL listens on the
  container's port, every URL of WDM_*_URLS names a pod (<sts>-<i>.<headless service>)
  of the right program on its port and together they cover every pod it may have,
  WDM_SENTINELS lists every Sentinel pod, WDM_REDIS_MASTER is a group the Sentinels
  monitor and that has a Redis StatefulSet, WDM_RABBITMQ_URL lists every RabbitMQ pod.
- Every container: probe ports are its ports, $(VAR) references are defined before,
  Secret/ConfigMap references exist (with the key), volume mounts have a volume.
- Services select pods and their target ports exist; a StatefulSet's serviceName is a
  headless Service selecting it; HPAs, PDBs and the Ingress point at what exists.
- Redis, Sentinel and RabbitMQ settings (env of their pods) line up with the objects.
- Monitoring (the chart's monitoring.* values): every PodMonitor selects pods on a port
  they have (or scrapes through a Service port of the release: an exporter that is given
  each pod as its target), and when there are PodMonitors, every pod running a program of
  ours or RabbitMQ is selected by one; a PrometheusRule holds exactly the groups of the
  rules file (RULES_FILE).
- Security (issue 12): no Secret holds a placeholder or a short secret; every Sentinel
  requires a password (its init container gets SENTINEL_PASSWORD from a Secret) and
  everything that talks to the Sentinels has it from the same key; no config says
  protected-mode no; the gateway serves /metrics on its admin port (WDM_ADMIN_ADDR), which
  no Service, probe of the public port or public rule reaches, and Prometheus (scrape
  annotation, PodMonitor) scrapes it there, not on the public port; no Service carries
  the Erlang distribution ports.
- NetworkPolicies (unless --no-network-policy): a default deny for every pod, a policy of
  its own for every workload, every connection the programs make (found from their
  settings, as above, and an exporter's from the PodMonitor that gives it its targets)
  allowed, and no other one between the release's pods; peers from outside
  (namespaceSelector, ipBlock) only on the Ingress's port, the scrape ports (annotation or
  PodMonitor) and RabbitMQ's management port, never without a port list; a rule never
  admits everybody.
"""
import base64
import binascii
import os
import re
import sys

import yaml

PROGRAMS = ("gateway", "order", "stock", "payment")
# Names each program cannot start without (README's settings table).
REQUIRED = {
    "gateway": {"WDM_STOCK_URLS", "WDM_PAYMENT_URLS", "WDM_ORDER_URLS"},
    "order": {"WDM_LISTEN_URL", "WDM_STOCK_URLS", "WDM_PAYMENT_URLS", "WDM_REPLICA_ID"},
    "stock": {"WDM_LISTEN_URL"},
    "payment": {"WDM_LISTEN_URL"},
}
URL_VARS = {"WDM_ORDER_URLS": "order", "WDM_STOCK_URLS": "stock",
            "WDM_PAYMENT_URLS": "payment"}
RULES_FILE = "infra/helm/wdm/files/prometheus-rules.yml"
# A secret that is no secret (the chart's wdm.checkSecret and infra/k8s/create-secrets
# refuse the same).
PLACEHOLDER = re.compile(r"(?i)change.?me|placeholder|^(guest|password|secret|wdm-local)$")
GOOD_SECRET = re.compile(r"[A-Za-z0-9._~-]{16,}")
ERLANG_PORTS = {4369: "epmd", 25672: "Erlang distribution"}

problems = []


def bad(msg):
    problems.append(msg)


# ---- what the C programs read ----

def c_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.endswith(".c") and not f.endswith("_test.c"))


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def names_read(repo, program):
    """The WDM_* names `program` may read: literals in its own sources and in the
    common/ files it uses. A common file foo_bar.c belongs to module "foo"; a module is
    used when a used file calls a function foo_...( of it (transitively)."""
    common = os.path.join(repo, "common")
    modules = {}
    for f in c_files(common):
        modules.setdefault(re.split(r"[_.]", os.path.basename(f))[0], []).append(f)
    used, todo, names = set(), list(c_files(os.path.join(repo, program))), set()
    seen = set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        text = read(f)
        names |= set(re.findall(r'"(WDM_[A-Z0-9_]+)"', text))
        for mod, files in modules.items():
            if mod not in used and re.search(r"\b%s_\w+\s*\(" % re.escape(mod), text):
                used.add(mod)
                todo.extend(files)
    return names


# ---- the objects ----

def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def key(o):
    return "%s/%s" % (o["kind"], o["metadata"]["name"])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def env_value(container, name):
    for e in container.get("env", []):
        if e["name"] == name:
            return e.get("value")
    return None


def port_number(container, port):
    """The number of a container port given by number or name, or None."""
    for p in container.get("ports", []):
        if port in (p["containerPort"], p.get("name")):
            return p["containerPort"]
    return None


def workload_port(w, port):
    """The number of a port given by number or name of one of w's containers, or None."""
    for c in w["spec"]["template"]["spec"]["containers"]:
        n = port_number(c, port)
        if n is not None:
            return n
    return None


class Topology:
    def __init__(self, objs):
        self.objs = objs
        self.by_kind = {}
        for o in objs:
            self.by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
        self.workloads = dict(self.by_kind.get("Deployment", {}))
        self.workloads.update(self.by_kind.get("StatefulSet", {}))
        self.hpa_of = {}
        for h in self.by_kind.get("HorizontalPodAutoscaler", {}).values():
            self.hpa_of[h["spec"]["scaleTargetRef"]["name"]] = h

    def kind(self, k):
        return self.by_kind.get(k, {})

    def pod_labels(self, w):
        return w["spec"]["template"]["metadata"].get("labels", {})

    def containers(self, w):
        spec = w["spec"]["template"]["spec"]
        return spec.get("initContainers", []) + spec["containers"]

    def max_pods(self, w):
        h = self.hpa_of.get(w["metadata"]["name"])
        return h["spec"]["maxReplicas"] if h else w["spec"].get("replicas", 1)

    def selected(self, selector):
        return [w for w in self.workloads.values() if selects(selector, self.pod_labels(w))]

    def program(self, c):
        cmd = c.get("command") or []
        if cmd and re.fullmatch(r"/usr/local/bin/(%s)" % "|".join(PROGRAMS), cmd[0]):
            return os.path.basename(cmd[0])
        return None

    def sts_with_program(self, program):
        for s in self.kind("StatefulSet").values():
            for c in s["spec"]["template"]["spec"]["containers"]:
                if self.program(c) == program:
                    return s, c
        return None, None

    def pod(self, host):
        """The StatefulSet, ordinal and container list of a host name <sts>-<i>.<svc>."""
        m = re.fullmatch(r"([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)", host)
        if not m:
            return None, None
        s = self.kind("StatefulSet").get(m.group(1))
        if s is None or s["spec"]["serviceName"] != m.group(3):
            return None, None
        return s, int(m.group(2))

    def sentinel_sts(self):
        for s in self.kind("StatefulSet").values():
            for c in s["spec"]["template"]["spec"]["containers"]:
                if (c.get("command") or [""])[0] == "redis-sentinel":
                    return s, c
        return None, None


def check_pod_list(topo, what, hosts_ports, sts, port):
    """hosts_ports must be exactly pods 0..max-1 of sts, each on port."""
    if sts is None:
        bad("%s: no StatefulSet to point at" % what)
        return
    want = topo.max_pods(sts)
    seen = []
    for host, p in hosts_ports:
        s, i = topo.pod(host)
        if s is not sts:
            bad("%s: %s is not a pod name of StatefulSet %s (<name>-<i>.%s)" %
                (what, host, sts["metadata"]["name"], sts["spec"]["serviceName"]))
            continue
        if p != port:
            bad("%s: %s:%s, but the pod listens on %s" % (what, host, p, port))
        seen.append(i)
    if sorted(seen) != list(range(want)):
        bad("%s: lists pods %s of %s, which may have %d" %
            (what, sorted(seen), sts["metadata"]["name"], want))


def check_program(topo, w, c, program, reads):
    what = "%s container %s" % (key(w), c["name"])
    env = {e["name"]: e for e in c.get("env", [])}
    for name in env:
        if name.startswith("WDM_") and name not in reads:
            bad("%s: sets %s, which %s does not read" % (what, name, program))
    for name in sorted(REQUIRED[program] - set(env)):
        bad("%s: %s is required and not set" % (what, name))
    if program == "order":
        rid = env.get("WDM_REPLICA_ID", {})
        if w["kind"] != "StatefulSet" or \
                rid.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
            bad("%s: WDM_REPLICA_ID must be the pod's name (metadata.name) in a StatefulSet"
                % what)
    listen = env_value(c, "WDM_LISTEN_URL")
    if listen is not None:
        m = re.fullmatch(r"tcp://0\.0\.0\.0:(\d+)", listen)
        if not m or port_number(c, int(m.group(1))) is None:
            bad("%s: WDM_LISTEN_URL=%s is not tcp://0.0.0.0:<a container port>" % (what, listen))
    if program == "gateway":
        port = env_value(c, "WDM_GATEWAY_PORT") or "8000"
        if port_number(c, int(port)) is None:
            bad("%s: WDM_GATEWAY_PORT=%s is not a container port" % (what, port))
    for var, target in URL_VARS.items():
        value = env_value(c, var)
        if value is None:
            continue
        pairs = []
        for url in value.split(","):
            m = re.fullmatch(r"tcp://([a-z0-9.-]+):(\d+)", url)
            if not m:
                bad("%s: %s has a malformed URL %r" % (what, var, url))
                continue
            pairs.append((m.group(1), int(m.group(2))))
        sts, tc = topo.sts_with_program(target)
        port = None
        if tc is not None:
            m = re.fullmatch(r"tcp://[^:]+:(\d+)", env_value(tc, "WDM_LISTEN_URL") or "")
            port = int(m.group(1)) if m else None
        check_pod_list(topo, "%s: %s" % (what, var), pairs, sts, port)
    if program == "gateway":
        return
    # Redis through the Sentinels
    sent, sc = topo.sentinel_sts()
    value = env_value(c, "WDM_SENTINELS") or ""
    pairs = []
    for addr in value.split(","):
        host, _, p = addr.rpartition(":")
        pairs.append((host, int(p) if p.isdigit() else None))
    check_pod_list(topo, "%s: WDM_SENTINELS" % what, pairs, sent,
                   sc and sc["ports"][0]["containerPort"])
    master = env_value(c, "WDM_REDIS_MASTER") or program
    groups = []
    if sent is not None:
        init = sent["spec"]["template"]["spec"].get("initContainers", [])
        groups = (init and env_value(init[0], "REDIS_GROUPS") or "").split()
    if master not in groups:
        bad("%s: WDM_REDIS_MASTER=%s is not a group the Sentinels monitor (%s)" %
            (what, master, " ".join(groups)))
    # RabbitMQ: every node, by its pod name, on its AMQP port
    url = env_value(c, "WDM_RABBITMQ_URL") or ""
    rmq = topo.kind("StatefulSet").get("rabbitmq")
    amqp = rmq and port_number(rmq["spec"]["template"]["spec"]["containers"][0], "amqp")
    pairs = []
    for u in url.split(","):
        m = re.fullmatch(r"amqp://[^@/,]+@([a-z0-9.-]+):(\d+)/", u)
        if not m:
            bad("%s: WDM_RABBITMQ_URL has %r, not amqp://user:pass@<pod>.<service>:<port>/" %
                (what, u))
            continue
        pairs.append((m.group(1), int(m.group(2))))
    check_pod_list(topo, "%s: WDM_RABBITMQ_URL" % what, pairs, rmq, amqp)
    if env_value(c, "WDM_BUS_QUEUE_TYPE") != "quorum":
        bad("%s: WDM_BUS_QUEUE_TYPE must be quorum (DESIGN §5: RabbitMQ is clustered)" % what)


def check_container_refs(topo, w, c):
    what = "%s container %s" % (key(w), c["name"])
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        pr = c.get(probe)
        if pr is None:
            continue
        for kind in ("httpGet", "tcpSocket"):
            if kind in pr and port_number(c, pr[kind]["port"]) is None:
                bad("%s: %s port %r is not one of its ports" % (what, probe, pr[kind]["port"]))
    defined = set()
    for e in c.get("env", []):
        for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value", "")):
            if ref not in defined:
                bad("%s: %s refers to $(%s), not defined before it" % (what, e["name"], ref))
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            s = topo.kind("Secret").get(ref["name"])
            if s is None or ref["key"] not in {**s.get("data", {}), **s.get("stringData", {})}:
                bad("%s: %s: no key %s in Secret %s" % (what, e["name"], ref["key"], ref["name"]))
        defined.add(e["name"])
    spec = w["spec"]["template"]["spec"]
    vols = {v["name"] for v in spec.get("volumes", [])}
    vols |= {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols:
            bad("%s: mounts volume %s, which the pod does not have" % (what, m["name"]))


def check_volumes(topo, w):
    for v in w["spec"]["template"]["spec"].get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] not in topo.kind("ConfigMap"):
            bad("%s: volume %s: no ConfigMap %s" % (key(w), v["name"], v["configMap"]["name"]))
        if "secret" in v:
            s = topo.kind("Secret").get(v["secret"]["secretName"])
            keys = s and {**s.get("data", {}), **s.get("stringData", {})}
            if s is None or any(i["key"] not in keys for i in v["secret"].get("items", [])):
                bad("%s: volume %s: no Secret %s with its keys" %
                    (key(w), v["name"], v["secret"]["secretName"]))


def check_services(topo):
    for svc in topo.kind("Service").values():
        pods = topo.selected(svc["spec"].get("selector"))
        if not pods:
            bad("%s: selects no pods" % key(svc))
            continue
        for p in svc["spec"]["ports"]:
            t = p.get("targetPort", p["port"])
            if not any(port_number(c, t) is not None
                       for w in pods for c in w["spec"]["template"]["spec"]["containers"]):
                bad("%s: targetPort %r is no port of its pods" % (key(svc), t))
    for s in topo.kind("StatefulSet").values():
        svc = topo.kind("Service").get(s["spec"]["serviceName"])
        if svc is None or svc["spec"].get("clusterIP") != "None" or \
                not selects(svc["spec"].get("selector"), topo.pod_labels(s)):
            bad("%s: serviceName %s is not a headless Service selecting its pods" %
                (key(s), s["spec"]["serviceName"]))
    for h in topo.kind("HorizontalPodAutoscaler").values():
        ref = h["spec"]["scaleTargetRef"]
        w = topo.kind(ref["kind"]).get(ref["name"])
        if w is None:
            bad("%s: no %s/%s to scale" % (key(h), ref["kind"], ref["name"]))
        elif "replicas" in w["spec"]:
            bad("%s: sets spec.replicas although an HPA scales it (an apply would undo "
                "the HPA's count)" % key(w))
        if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
            bad("%s: minReplicas > maxReplicas" % key(h))
    for p in topo.kind("PodDisruptionBudget").values():
        if not topo.selected(p["spec"]["selector"].get("matchLabels")):
            bad("%s: selects no pods" % key(p))
    for ing in topo.kind("Ingress").values():
        for rule in ing["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                svc = topo.kind("Service").get(b["name"])
                if svc is None or not any(b["port"].get("name") == p.get("name") or
                                          b["port"].get("number") == p["port"]
                                          for p in svc["spec"]["ports"]):
                    bad("%s: backend %s port %s does not exist" % (key(ing), b["name"], b["port"]))


def check_infra(topo):
    sent, sc = topo.sentinel_sts()
    if sent is None:
        bad("no Sentinel StatefulSet (a container running redis-sentinel)")
        return
    init = sent["spec"]["template"]["spec"].get("initContainers", [])
    if not init:
        bad("%s: no init container to write the config" % key(sent))
        return
    ie = init[0]
    n_sent = sent["spec"].get("replicas", 1)
    if int(env_value(ie, "SENTINEL_REPLICAS") or -1) != n_sent:
        bad("%s: SENTINEL_REPLICAS is not its replica count %d" % (key(sent), n_sent))
    if env_value(ie, "SENTINEL_SERVICE") != sent["spec"]["serviceName"]:
        bad("%s: SENTINEL_SERVICE is not its serviceName" % key(sent))
    if int(env_value(ie, "SENTINEL_PORT") or -1) != sc["ports"][0]["containerPort"]:
        bad("%s: SENTINEL_PORT is not its port" % key(sent))
    q = int(env_value(ie, "SENTINEL_QUORUM") or 0)
    if not n_sent // 2 < q <= n_sent:
        bad("%s: quorum %d of %d Sentinels is no majority" % (key(sent), q, n_sent))
    if n_sent < 3:
        bad("%s: DESIGN §6 wants 3 or more Sentinels" % key(sent))
    for g in (env_value(ie, "REDIS_GROUPS") or "").split():
        r = topo.kind("StatefulSet").get("redis-" + g)
        if r is None:
            bad("Sentinels monitor %s, but there is no StatefulSet redis-%s" % (g, g))
            continue
        rc = r["spec"]["template"]["spec"]["containers"][0]
        if r["spec"]["serviceName"] != r["metadata"]["name"]:
            bad("%s: serviceName must be its own name (pods are redis-%s-<i>.redis-%s)" %
                (key(r), g, g))
        if env_value(rc, "REDIS_GROUP") != g:
            bad("%s: REDIS_GROUP is not %s" % (key(r), g))
        n = r["spec"].get("replicas", 1)
        if n < 3:
            bad("%s: DESIGN §6 wants a master and 2 replicas" % key(r))
        for c in (rc, ie):
            if int(env_value(c, "REDIS_REPLICAS") or -1) != n:
                bad("%s: REDIS_REPLICAS of %s is not %s's replica count %d" %
                    (key(r) if c is rc else key(sent), c["name"], key(r), n))
            if int(env_value(c, "REDIS_PORT") or -1) != rc["ports"][0]["containerPort"]:
                bad("%s: REDIS_PORT of %s is not the Redis port" % (key(r), c["name"]))
        for name in ("SENTINEL_SERVICE", "SENTINEL_PORT", "SENTINEL_REPLICAS"):
            if env_value(rc, name) != env_value(ie, name):
                bad("%s: %s differs from the Sentinels' own" % (key(r), name))
    rmq = topo.kind("StatefulSet").get("rabbitmq")
    if rmq is None:
        bad("no StatefulSet rabbitmq")
        return
    n = rmq["spec"].get("replicas", 1)
    if n < 3:
        bad("%s: quorum queues want 3 or more nodes" % key(rmq))
    ri = rmq["spec"]["template"]["spec"].get("initContainers", [{}])[0]
    if int(env_value(ri, "RABBITMQ_REPLICAS") or -1) != n:
        bad("%s: RABBITMQ_REPLICAS is not its replica count %d" % (key(rmq), n))
    node = env_value(rmq["spec"]["template"]["spec"]["containers"][0], "RABBITMQ_NODENAME") or ""
    if not node.startswith("rabbit@$(POD_NAME).%s." % rmq["spec"]["serviceName"]):
        bad("%s: RABBITMQ_NODENAME %r is not rabbit@<pod>.<serviceName>..." % (key(rmq), node))


# ---- security (issue 12) ----

def secret_data(s):
    """{key: text} of a Secret: data decoded from base64, stringData as it is."""
    out = {}
    for k, v in (s.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v or "", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            bad("%s: key %s is not base64 of text" % (key(s), k))
    for k, v in (s.get("stringData") or {}).items():
        out[k] = str(v)
    return out


def check_secrets(topo):
    for s in topo.kind("Secret").values():
        for k, v in sorted(secret_data(s).items()):
            if PLACEHOLDER.search(v):
                bad("%s: key %s holds a placeholder secret" % (key(s), k))
            elif k != "username" and not GOOD_SECRET.fullmatch(v):
                bad("%s: key %s is no real secret (16 or more letters, digits and . _ ~ -)" %
                    (key(s), k))


def secret_ref(c, name):
    """(Secret, key) that the variable name of container c comes from, or None."""
    for e in c.get("env", []):
        if e["name"] == name:
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            return (ref["name"], ref["key"]) if ref else None
    return None


def check_sentinel_auth(topo):
    """Sentinels require a password (sentinel-init.sh writes requirepass and sentinel-pass
    from SENTINEL_PASSWORD; tests/deploy/k8s/redis_scripts.sh checks that part), and all
    that talks to them has the same one."""
    sent, sc = topo.sentinel_sts()
    if sent is None:
        return
    init = sent["spec"]["template"]["spec"].get("initContainers", [])
    ref = secret_ref(init[0], "SENTINEL_PASSWORD") if init else None
    if ref is None:
        bad("%s: a Sentinel without a password (its init container gets no SENTINEL_PASSWORD "
            "from a Secret)" % key(sent))
        return
    for w in topo.workloads.values():
        for c in topo.containers(w):
            what = "%s container %s" % (key(w), c["name"])
            if topo.program(c):
                if env_value(c, "WDM_SENTINELS") is not None and \
                        secret_ref(c, "WDM_SENTINEL_PASSWORD") != ref:
                    bad("%s: asks the Sentinels without WDM_SENTINEL_PASSWORD from Secret %s key %s"
                        % (what, ref[0], ref[1]))
            elif env_value(c, "SENTINEL_SERVICE") is not None or c is sc:
                if secret_ref(c, "SENTINEL_PASSWORD") != ref:
                    bad("%s: asks the Sentinels without SENTINEL_PASSWORD from Secret %s key %s" %
                        (what, ref[0], ref[1]))
    for cm in topo.kind("ConfigMap").values():
        for k, text in sorted((cm.get("data") or {}).items()):
            if re.search(r"(?m)^\s*protected-mode\s+no\b", text):
                bad("%s: %s says protected-mode no" % (key(cm), k))


def service_target_ports(topo, svc, sp):
    """The container port numbers a Service port sends to."""
    t = sp.get("targetPort", sp["port"])
    out = set()
    for w in topo.selected(svc["spec"].get("selector")):
        for c in w["spec"]["template"]["spec"]["containers"]:
            n = port_number(c, t)
            if n is not None:
                out.add(n)
    return out


def gateway_ports(topo, w, c):
    """(public port, admin port or None) of a gateway container."""
    public = int(env_value(c, "WDM_GATEWAY_PORT") or 8000)
    m = re.fullmatch(r"0\.0\.0\.0:(\d+)", env_value(c, "WDM_ADMIN_ADDR") or "")
    return public, (int(m.group(1)) if m else None)


def check_gateway_admin(topo):
    """/metrics and /admin/* are on the gateway's admin listener, which nothing public
    reaches: no Service selecting the gateway exposes it, Prometheus scrapes it (not the
    public port), no probe asks /metrics or /admin/ on the public port."""
    for w in topo.workloads.values():
        for c in w["spec"]["template"]["spec"]["containers"]:
            if topo.program(c) != "gateway":
                continue
            what = "%s container %s" % (key(w), c["name"])
            public, admin = gateway_ports(topo, w, c)
            if admin is None:
                bad("%s: WDM_ADMIN_ADDR is not 0.0.0.0:<port>: /metrics and /admin/* need "
                    "their own listener" % what)
                continue
            if admin == public or port_number(c, admin) is None:
                bad("%s: the admin port %d is the public port or no container port" %
                    (what, admin))
            ann = w["spec"]["template"]["metadata"].get("annotations") or {}
            if "prometheus.io/port" in ann and str(ann["prometheus.io/port"]) != str(admin):
                bad("%s: prometheus.io/port is %s, not the admin port %d (/metrics is there, "
                    "never on the public port)" % (key(w), ann["prometheus.io/port"], admin))
            for (name, n), pm in sorted(pod_monitor_scrapes(topo)[0].items()):
                if name == w["metadata"]["name"] and n != admin:
                    bad("%s scrapes %s on port %d, not the admin port %d (/metrics is there, "
                        "never on the public port)" % (pm, key(w), n, admin))
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                hg = (c.get(probe) or {}).get("httpGet")
                if hg and port_number(c, hg["port"]) == public and \
                        re.match(r"/(metrics|admin)", hg.get("path", "")):
                    bad("%s: %s asks %s on the public port" % (what, probe, hg["path"]))
            for svc in topo.kind("Service").values():
                if not selects(svc["spec"].get("selector"), topo.pod_labels(w)):
                    continue
                for sp in svc["spec"].get("ports", []):
                    if admin in service_target_ports(topo, svc, sp):
                        bad("%s: exposes the gateway's admin port %d (/metrics, /admin/*)" %
                            (key(svc), admin))
    for svc in topo.kind("Service").values():
        for sp in svc["spec"].get("ports", []):
            for n in sorted(service_target_ports(topo, svc, sp) | {sp["port"]}):
                if n in ERLANG_PORTS:
                    bad("%s: carries the %s port %d (the nodes reach it pod to pod)" %
                        (key(svc), ERLANG_PORTS[n], n))


# ---- NetworkPolicies ----

def label_match(sel, labels):
    """A LabelSelector on a pod's labels ({} selects every pod)."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        op, k, vals = e["operator"], e["key"], e.get("values") or []
        if (op == "In" and labels.get(k) not in vals) or (op == "NotIn" and labels.get(k) in vals) \
                or (op == "Exists" and k not in labels) or (op == "DoesNotExist" and k in labels):
            return False
    return True


def outside(peer):
    """A peer that may be outside the release's namespace."""
    return "namespaceSelector" in peer or "ipBlock" in peer


def admits_pod(peer, labels):
    """Does a `from` peer admit a pod of the release (this namespace) with labels?"""
    if "ipBlock" in peer:
        return False  # addresses: not judged here
    ns = peer.get("namespaceSelector")
    if ns is not None and (ns.get("matchLabels") or ns.get("matchExpressions")):
        return False  # which namespaces those are is not known here
    return label_match(peer.get("podSelector") or {}, labels)


def ingress_policies(topo, w):
    labels = topo.pod_labels(w)
    return [p for p in topo.kind("NetworkPolicy").values()
            if label_match(p["spec"].get("podSelector") or {}, labels) and
            "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]


def rule_ports(np, rule, w):
    """The TCP port numbers a rule admits on the pods of w; None: every port."""
    if not rule.get("ports"):
        return None
    out = set()
    for p in rule["ports"]:
        if p.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in p:
            return None
        if isinstance(p["port"], int):
            n = p["port"]
        else:
            n = workload_port(w, p["port"])
            if n is None:
                continue  # a named port the pods lack admits nothing on them
        out |= set(range(n, p.get("endPort", n) + 1))
    return out


def rules_of(topo, w):
    """(policy, rule, admitted ports or None) of every ingress rule that applies to w."""
    for np in ingress_policies(topo, w):
        for rule in np["spec"].get("ingress") or []:
            yield np, rule, rule_ports(np, rule, w)


def allowed(topo, w, port, labels, inside_only=False):
    """Does a rule let a pod of the release with labels reach w's port? inside_only:
    count only peers that name pods of this namespace (podSelector alone)."""
    for _np, rule, ports in rules_of(topo, w):
        if ports is not None and port not in ports:
            continue
        peers = rule.get("from") or [{}]  # no `from`: every source
        for peer in peers:
            if inside_only and outside(peer):
                continue
            if admits_pod(peer, labels):
                return True
    return False


def needed_connections(topo):
    """{(source workload, target workload, port): why} of the connections the pods make,
    from their settings (as the checks above read them)."""
    need = {}

    def add(src, host_or_sts, port, why):
        if isinstance(host_or_sts, str):
            sts, _ = topo.pod(host_or_sts)
        else:
            sts = host_or_sts
        if sts is not None and port is not None:
            need.setdefault((src["metadata"]["name"], sts["metadata"]["name"], port), why)

    sts_by_service = {s["spec"]["serviceName"]: s for s in topo.kind("StatefulSet").values()}
    for w in topo.workloads.values():
        for c in topo.containers(w):
            if topo.program(c):
                for var in list(URL_VARS) + ["WDM_SENTINELS"]:
                    for u in (env_value(c, var) or "").split(","):
                        m = re.fullmatch(r"(?:tcp://)?([a-z0-9.-]+):(\d+)", u)
                        if m:
                            add(w, m.group(1), int(m.group(2)), var)
                for u in (env_value(c, "WDM_RABBITMQ_URL") or "").split(","):
                    m = re.fullmatch(r"amqp://[^@/,]+@([a-z0-9.-]+):(\d+)/", u)
                    if m:
                        add(w, m.group(1), int(m.group(2)), "WDM_RABBITMQ_URL")
                group = env_value(c, "WDM_REDIS_MASTER")
                r = topo.kind("StatefulSet").get("redis-%s" % group)
                if group and r:
                    add(w, r, port_number(r["spec"]["template"]["spec"]["containers"][0], "redis"),
                        "WDM_REDIS_MASTER")
                continue
            svc = env_value(c, "SENTINEL_SERVICE")
            if svc in sts_by_service:  # find-master.sh asks the Sentinels
                add(w, sts_by_service[svc], int(env_value(c, "SENTINEL_PORT") or 0),
                    "SENTINEL_SERVICE")
            groups = (env_value(c, "REDIS_GROUPS") or env_value(c, "REDIS_GROUP") or "").split()
            for g in groups:  # replication, find-master.sh, Sentinel monitoring
                r = topo.kind("StatefulSet").get("redis-%s" % g)
                if r:
                    add(w, r, int(env_value(c, "REDIS_PORT") or 0), "REDIS_GROUP(S)")
            if (c.get("command") or [""])[0] == "redis-sentinel":  # the other Sentinels
                add(w, w, c["ports"][0]["containerPort"], "Sentinels talk to each other")
            if env_value(c, "RABBITMQ_NODENAME"):  # the Erlang distribution of the cluster
                for name in ("epmd", "dist"):
                    add(w, w, port_number(c, name), "Erlang distribution")
    _scraped, exporters, _problems = pod_monitor_scrapes(topo)
    for conn, why in exporters.items():  # e.g. the Redis exporter to every Redis pod
        need.setdefault(conn, why)
    return need


def public_ports(topo, w):
    """The ports of w that peers from outside the release may reach: the Ingress's
    backends, the scrape ports (the prometheus.io/port annotation, and what a PodMonitor
    scrapes), RabbitMQ's management port."""
    out = set()
    labels = topo.pod_labels(w)
    for ing in topo.kind("Ingress").values():
        for rule in ing["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                svc = topo.kind("Service").get(b["name"])
                if svc and selects(svc["spec"].get("selector"), labels):
                    for sp in svc["spec"]["ports"]:
                        if b["port"].get("name") == sp.get("name") or \
                                b["port"].get("number") == sp["port"]:
                            out |= service_target_ports(topo, svc, sp)
    ann = w["spec"]["template"]["metadata"].get("annotations") or {}
    if str(ann.get("prometheus.io/port", "")).isdigit():
        out.add(int(ann["prometheus.io/port"]))
    scraped, _exporters, _problems = pod_monitor_scrapes(topo)
    out |= {n for name, n in scraped if name == w["metadata"]["name"]}
    for c in w["spec"]["template"]["spec"]["containers"]:
        n = port_number(c, "management")
        if n is not None:
            out.add(n)
    return out


def check_network_policies(topo):
    nps = topo.kind("NetworkPolicy")
    workloads = sorted(topo.workloads.values(), key=key)
    # a default deny that every pod is under, and a policy of its own for each workload
    deny = [p for p in nps.values() if not p["spec"].get("ingress") and
            "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    for w in workloads:
        if not any(label_match(p["spec"].get("podSelector") or {}, topo.pod_labels(w))
                   for p in deny):
            bad("%s: no default-deny NetworkPolicy (Ingress, no rules) selects its pods" % key(w))
        if not any(p["spec"].get("ingress") for p in ingress_policies(topo, w)):
            bad("%s: no NetworkPolicy of its own (ingress rules for its pods): a missing "
                "NetworkPolicy" % key(w))
    # rules: never everybody; peers name pods that exist; outside peers on public ports only
    for np in sorted(nps.values(), key=key):
        targets = [w for w in workloads
                   if label_match(np["spec"].get("podSelector") or {}, topo.pod_labels(w))]
        if not targets:
            bad("%s: selects no pods" % key(np))
        for i, rule in enumerate(np["spec"].get("ingress") or []):
            where = "%s: ingress rule %d" % (key(np), i + 1)
            if not rule.get("from"):
                bad("%s: has no `from`: admits everybody" % where)
                continue
            for peer in rule["from"]:
                if not outside(peer) and not any(
                        label_match(peer.get("podSelector") or {}, topo.pod_labels(w))
                        for w in workloads):
                    bad("%s: peer %s selects no pod" % (where, peer.get("podSelector")))
            if not any(outside(peer) for peer in rule["from"]):
                continue
            for w in targets:
                ports = rule_ports(np, rule, w)
                if ports is None:
                    bad("%s: lets peers from outside the release reach every port of %s" %
                        (where, key(w)))
                    continue
                for n in sorted(ports - public_ports(topo, w)):
                    bad("%s: lets peers from outside the release reach %s:%d" % (where, key(w), n))
                for c in w["spec"]["template"]["spec"]["containers"]:
                    if topo.program(c) == "gateway":
                        public, admin = gateway_ports(topo, w, c)
                        if public in ports and admin in ports:
                            bad("%s: the rule that lets the Ingress reach %s also admits its "
                                "admin port %d" % (where, key(w), admin))
    # every connection the pods make is allowed, and no other between them
    need = needed_connections(topo)
    for (src, dst, port), why in sorted(need.items()):
        s, d = topo.workloads[src], topo.workloads[dst]
        if not allowed(topo, d, port, topo.pod_labels(s)):
            bad("NetworkPolicies do not let %s reach %s:%d (%s)" % (key(s), key(d), port, why))
    for d in workloads:
        ports = {p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        for s in workloads:
            for port in sorted(ports):
                if (s["metadata"]["name"], d["metadata"]["name"], port) not in need and \
                        allowed(topo, d, port, topo.pod_labels(s), inside_only=True):
                    bad("NetworkPolicies let %s reach %s:%d, which it does not connect to" %
                        (key(s), key(d), port))
    # and from outside: the Ingress's backend, and Prometheus on the scrape ports
    for w in workloads:
        for n in sorted(public_ports(topo, w)):
            mgmt = any(port_number(c, "management") == n
                       for c in w["spec"]["template"]["spec"]["containers"])
            if mgmt:
                continue  # optional (networkPolicy.managementFrom)
            if not any((ports is None or n in ports) and any(outside(p) for p in rule.get("from") or [])
                       for _np, rule, ports in rules_of(topo, w)):
                bad("NetworkPolicies let nothing from outside reach %s:%d (the Ingress's "
                    "backend or the scrape port)" % (key(w), n))


def selector_matches(sel, labels):
    """A PodMonitor's selector against a pod's labels. An empty selector matches nothing
    here (in a PodMonitor it would take every pod around)."""
    return bool(sel and (sel.get("matchLabels") or sel.get("matchExpressions"))) and \
        label_match(sel, labels)


def pod_monitor_scrapes(topo):
    """What the PodMonitors make Prometheus, and exporters, connect to:
    (scraped, exporters, problems).
    - scraped: {(workload name, port): PodMonitor} of the pods Prometheus scrapes: the
      pods an endpoint selects, on its port; or, when the endpoint's relabelings replace
      __address__ with <service>[.<namespace>...]:<port>, the pods behind that Service
      port instead (a multi-target exporter);
    - exporters: {(exporter workload name, target workload name, port): why}: such an
      exporter, given each selected pod's address as its target (__param_target from
      __address__), connects to the pod on the endpoint's port;
    - problems: endpoints on a port the selected pods lack, addresses that are no Service
      port of the release (check_monitoring reports them)."""
    scraped, exporters, problems = {}, {}, []
    for pm in sorted(topo.kind("PodMonitor").values(), key=key):
        pods = [w for w in topo.workloads.values()
                if selector_matches(pm["spec"].get("selector"), topo.pod_labels(w))]
        for ep in pm["spec"].get("podMetricsEndpoints") or []:
            port = ep.get("port", ep.get("targetPort"))
            rules = ep.get("relabelings") or []
            address = next((r.get("replacement") for r in rules
                            if r.get("targetLabel") == "__address__" and
                            not r.get("sourceLabels")), None)
            target_param = any(r.get("targetLabel") == "__param_target" and
                               r.get("sourceLabels") == ["__address__"] for r in rules)
            via = None  # [(exporter workload, its port)] when __address__ is replaced
            if address is not None:
                m = re.fullmatch(r"([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)", str(address))
                svc = m and topo.kind("Service").get(m.group(1))
                sp = svc and next((p for p in svc["spec"]["ports"]
                                   if p["port"] == int(m.group(2))), None)
                if not sp:
                    problems.append("%s: scrapes through %s, which is no Service port of "
                                    "the release" % (key(pm), address))
                    continue
                via = []
                for e in topo.selected(svc["spec"].get("selector")):
                    n = workload_port(e, sp.get("targetPort", sp["port"]))
                    if n is not None:
                        via.append((e["metadata"]["name"], n))
                        scraped.setdefault(via[-1], key(pm))
            for w in pods:
                n = workload_port(w, port)
                if n is None:
                    problems.append("%s: endpoint port %r is no container port of %s" %
                                    (key(pm), port, key(w)))
                elif via is None:
                    scraped.setdefault((w["metadata"]["name"], n), key(pm))
                elif target_param:
                    for e, _ in via:
                        exporters.setdefault((e, w["metadata"]["name"], n),
                                             "its target in %s" % key(pm))
    return scraped, exporters, problems


def check_monitoring(topo, repo):
    monitors = topo.kind("PodMonitor")
    for p in pod_monitor_scrapes(topo)[2]:
        bad(p)
    selected = set()
    for pm in monitors.values():
        pods = [w for w in topo.workloads.values()
                if selector_matches(pm["spec"].get("selector"), topo.pod_labels(w))]
        if not pods:
            bad("%s: selects no pods" % key(pm))
        selected |= {key(w) for w in pods}
    if monitors:
        for w in topo.workloads.values():
            runs = [topo.program(c) for c in w["spec"]["template"]["spec"]["containers"]]
            if (any(runs) or w["metadata"]["name"] == "rabbitmq") and key(w) not in selected:
                bad("%s: no PodMonitor selects its pods" % key(w))
    rules = topo.kind("PrometheusRule")
    if rules:
        with open(os.path.join(repo, RULES_FILE)) as f:
            want = (yaml.safe_load(f) or {}).get("groups")
        for r in rules.values():
            if r["spec"].get("groups") != want:
                bad("%s: its groups are not those of %s" % (key(r), RULES_FILE))


def main():
    args = [a for a in sys.argv[1:] if a != "--no-network-policy"]
    if len(args) not in (1, 2):
        print(__doc__)
        return 2
    repo = args[1] if len(args) == 2 else \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    topo = Topology(load(args[0]))
    reads = {p: names_read(repo, p) for p in PROGRAMS}
    programs_seen = set()
    for w in topo.workloads.values():
        check_volumes(topo, w)
        for c in topo.containers(w):
            check_container_refs(topo, w, c)
            p = topo.program(c)
            if p:
                programs_seen.add(p)
                check_program(topo, w, c, p, reads[p])
    for p in sorted(set(PROGRAMS) - programs_seen):
        bad("no container runs %s" % p)
    check_services(topo)
    check_infra(topo)
    check_monitoring(topo, repo)
    check_secrets(topo)
    check_sentinel_auth(topo)
    check_gateway_admin(topo)
    if "--no-network-policy" not in sys.argv:
        check_network_policies(topo)
    for p in problems:
        print("consistency: %s" % p)
    print("consistency: %d objects checked, %d problems" % (len(topo.objs), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
