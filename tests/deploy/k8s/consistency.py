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
- Monitoring (the chart's monitoring.* values): every PodMonitor selects pods, and when
  there are PodMonitors, every pod running a program of ours or RabbitMQ is selected by
  one; a PrometheusRule holds exactly the groups of the rules file (RULES_FILE).
"""
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


def selector_matches(sel, labels):
    """A label selector (matchLabels, matchExpressions) against a pod's labels. An empty
    selector matches nothing here (in a PodMonitor it would take every pod around)."""
    if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        return False
    if not all(labels.get(k) == v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        have, values = labels.get(e["key"]), e.get("values") or []
        if not {"In": have in values, "NotIn": have not in values,
                "Exists": e["key"] in labels, "DoesNotExist": e["key"] not in labels}[e["operator"]]:
            return False
    return True


def check_monitoring(topo, repo):
    monitors = topo.kind("PodMonitor")
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
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    repo = sys.argv[2] if len(sys.argv) == 3 else \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    topo = Topology(load(sys.argv[1]))
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
    for p in problems:
        print("consistency: %s" % p)
    print("consistency: %d objects checked, %d problems" % (len(topo.objs), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
