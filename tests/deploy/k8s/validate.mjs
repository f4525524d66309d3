// validate.mjs FILE: checks every object of a multi-document YAML file (the output of
// `kubectl kustomize infra/k8s`) against the Kubernetes API schemas, offline:
//   1. the kubernetes-models class of its apiVersion + kind must exist (an unknown kind
//      or API version fails) and its .validate() must pass (types, required fields,
//      enums, formats);
//   2. every field must be one the API knows: .validate() lets unknown fields through
//      (a misspelt "readinesProbe" would be dropped by the API server, silently with
//      older kubectl), so the field names are checked against the property lists of
//      the package's type declarations (*.d.ts), which come from the same OpenAPI spec.
// The Prometheus Operator's kinds (monitoring.coreos.com: PodMonitor, PrometheusRule, ...,
// from the chart's monitoring.* values) come from @kubernetes-models/prometheus-operator,
// whose declarations spell nested types inline; those are checked field by field too.
// Prints one line per problem and exits 1 if there was any.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const modelsDir = dirname(require.resolve("kubernetes-models/package.json"));
const apimachineryDir = dirname(require.resolve("@kubernetes-models/apimachinery/package.json"));
const CRD_PACKAGES = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };
const crdDirs = Object.values(CRD_PACKAGES).map((p) => dirname(require.resolve(`${p}/package.json`)));

// ---- field lists from the type declarations ----

// interfaces: exported alias (IIoK8sApiCoreV1Container) -> {prop: type text}
const interfaces = new Map();
// ownNames: an interface's name in its own file (IObjectMeta) -> {prop: type text}
const ownNames = new Map();
// kinds: "apps/v1 Deployment" -> {prop: type text}
const kinds = new Map();

function* dtsFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* dtsFiles(p);
    else if (e.name.endsWith(".d.ts")) yield p;
  }
}

// parseProps: the properties of the type block whose first line is lines[i], declared at
// `indent` spaces; the block ends at the first line indented less. Returns [props, the
// index of that line]. A property maps to its type's text ("string", "IIoK8s...",
// "Array<...>"), or, for a type spelt over several lines: an object of its own properties
// (an inline object), {"[]": properties} (an array of inline objects), or "map" (a
// { [key: string]: ... } map, or anything else: its keys are not checked).
function parseProps(lines, i, indent) {
  const props = {};
  const head = new RegExp(`^ {${indent}}"([^"]+)"\\??: (.*)$`);
  for (; i < lines.length; i++) {
    if (lines[i].length - lines[i].trimStart().length < indent) break;
    const p = head.exec(lines[i]);
    if (!p) continue;
    const [, name, type] = p;
    if (type.endsWith(";")) {
      props[name] = type.slice(0, -1);
      continue;
    }
    const [inner, end] = parseProps(lines, i + 1, indent + 4);
    const close = (lines[end] || "").trim();
    const isMap = /^\[key: string\]/.test((lines[i + 1] || "").trim());
    if (type === "{" && close === "};" && !isMap) props[name] = inner;
    else if (type === "Array<{" && close === "}>;") props[name] = { "[]": inner };
    else props[name] = "map";
    i = end;
  }
  return [props, i];
}

function parseDts(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const local = new Map(); // interface name in this file -> props
  for (let i = 0; i < lines.length; i++) {
    const m = /^export interface (I\w+)(?: extends [\w, ]+)? \{$/.exec(lines[i]);
    if (!m) continue;
    const [props, end] = parseProps(lines, i + 1, 4);
    local.set(m[1], props);
    i = end;
  }
  for (const line of lines) {
    const m = /^export \{ (.*) \};$/.exec(line);
    if (!m) continue;
    for (const part of m[1].split(", ")) {
      const [name, alias] = part.split(" as ");
      if (!local.has(name)) continue;
      interfaces.set(alias, local.get(name));
      // The CRD packages name the apimachinery types they import by their own names
      // (IObjectMeta); null marks a name that two files declare.
      ownNames.set(name, ownNames.has(name) ? null : local.get(name));
    }
  }
  // A top-level kind: its interface has literal apiVersion and kind.
  for (const props of local.values()) {
    const av = /^"([^"]+)"$/.exec(props.apiVersion || "");
    const k = /^"([^"]+)"$/.exec(props.kind || "");
    if (av && k) kinds.set(`${av[1]} ${k[1]}`, props);
  }
}

for (const f of dtsFiles(modelsDir)) parseDts(f);
for (const f of dtsFiles(apimachineryDir)) parseDts(f);
for (const d of crdDirs) for (const f of dtsFiles(d)) parseDts(f);

// checkFields: problems for the fields of value (of declared type `type`) at path.
function checkFields(value, type, path, problems) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, m[1], `${path}[${i}]`, problems));
    return;
  }
  if (typeof type === "object" && "[]" in type) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, type["[]"], `${path}[${i}]`, problems));
    return;
  }
  const props = typeof type === "object" ? type : interfaces.get(type) || ownNames.get(type);
  if (!props || typeof value !== "object" || Array.isArray(value)) return; // a leaf type
  for (const [k, v] of Object.entries(value)) {
    if (!(k in props)) problems.push(`${path}.${k}: unknown field`);
    else checkFields(v, props[k], `${path}.${k}`, problems);
  }
}

// ---- the objects ----

async function modelClass(apiVersion, kind) {
  // core objects live in kubernetes-models/v1, the others in kubernetes-models/<group>/<v>,
  // custom resources in their group's package (CRD_PACKAGES)
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) || !/^[A-Z]\w*$/.test(kind)) {
    return null;
  }
  const pkg = CRD_PACKAGES[apiVersion.split("/")[0]] || "kubernetes-models";
  try {
    const mod = await import(`${pkg}/${apiVersion}/${kind}`);
    return mod[kind] || null;
  } catch {
    return null;
  }
}

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node validate.mjs RENDERED.yaml");
    process.exit(2);
  }
  const problems = [];
  let count = 0;
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      problems.push(`YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) continue;
    count++;
    const name = `${obj.kind || "?"}/${(obj.metadata && obj.metadata.name) || "?"}`;
    const Model = await modelClass(String(obj.apiVersion), String(obj.kind));
    if (!Model) {
      problems.push(`${name}: unknown kind ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push(`${name}: ${e.message}`);
    }
    const props = kinds.get(`${obj.apiVersion} ${obj.kind}`);
    if (!props) problems.push(`${name}: no field list for ${obj.apiVersion} ${obj.kind}`);
    else checkFields(obj, props, name, problems);
  }
  if (count === 0) problems.push(`${file}: no objects`);
  for (const p of problems) console.log(`schema: ${p}`);
  console.log(`schema: ${count} objects checked, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}

main();
