"""Python message classes for proto/api.proto, without installing anything.

Tried in order: `protoc --python_out` (package protobuf-compiler), `protoc-c
--descriptor_set_out` (protoc-c is needed by the build anyway), and last a
FileDescriptorProto built here from a small reader of the .proto text (enough for
api.proto: flat messages of scalar, repeated and message fields)."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FDP = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "double": FDP.TYPE_DOUBLE, "float": FDP.TYPE_FLOAT,
    "int64": FDP.TYPE_INT64, "uint64": FDP.TYPE_UINT64,
    "int32": FDP.TYPE_INT32, "uint32": FDP.TYPE_UINT32,
    "sint32": FDP.TYPE_SINT32, "sint64": FDP.TYPE_SINT64,
    "fixed32": FDP.TYPE_FIXED32, "fixed64": FDP.TYPE_FIXED64,
    "sfixed32": FDP.TYPE_SFIXED32, "sfixed64": FDP.TYPE_SFIXED64,
    "bool": FDP.TYPE_BOOL, "string": FDP.TYPE_STRING, "bytes": FDP.TYPE_BYTES,
}


def _from_file_protos(file_protos, names):
    # A private pool, so that these classes never clash with anything else registered.
    pool = descriptor_pool.DescriptorPool()
    for fp in file_protos:
        pool.Add(fp)
    out = {}
    for n in names:
        desc = pool.FindMessageTypeByName(n)
        if hasattr(message_factory, "GetMessageClass"):
            out[n.split(".")[-1]] = message_factory.GetMessageClass(desc)
        else:
            out[n.split(".")[-1]] = message_factory.MessageFactory(pool).GetPrototype(desc)
    return types.SimpleNamespace(**out)


def _names(fdp):
    return [f"{fdp.package}.{m.name}" if fdp.package else m.name for m in fdp.message_type]


def _with_protoc(proto_dir, tmp):
    protoc = shutil.which("protoc")
    if not protoc:
        return None
    subprocess.run([protoc, f"-I{proto_dir}", f"--python_out={tmp}", os.path.join(proto_dir, "api.proto")],
                   check=True, capture_output=True, timeout=60)
    spec = importlib.util.spec_from_file_location("wdm_systest_api_pb2", os.path.join(tmp, "api_pb2.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _with_protoc_c(proto_dir, tmp):
    protoc_c = shutil.which("protoc-c")
    if not protoc_c:
        return None
    out = os.path.join(tmp, "api.fds")
    subprocess.run([protoc_c, f"-I{proto_dir}", f"--descriptor_set_out={out}", os.path.join(proto_dir, "api.proto")],
                   check=True, capture_output=True, timeout=60)
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())
    fdp = fds.file[-1]
    return _from_file_protos(list(fds.file), _names(fdp))


def build_by_hand(proto_text, file_name="wdm_systest/api.proto"):
    text = re.sub(r"/\*.*?\*/", " ", proto_text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    fdp = descriptor_pb2.FileDescriptorProto(name=file_name, syntax="proto3")
    m = re.search(r"\bpackage\s+([\w.]+)\s*;", text)
    if m:
        fdp.package = m.group(1)
    prefix = "." + fdp.package if fdp.package else ""
    for m in re.finditer(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
        msg = fdp.message_type.add(name=m.group(1))
        for stmt in filter(None, (s.strip() for s in m.group(2).split(";"))):
            f = re.fullmatch(r"(repeated\s+|optional\s+)?([\w.]+)\s+(\w+)\s*=\s*(\d+)(\s*\[.*\])?", stmt, flags=re.S)
            if not f:
                raise ValueError(f"api.proto: cannot read field {stmt!r} of {msg.name}")
            label, typ, name, num = f.group(1), f.group(2), f.group(3), int(f.group(4))
            field = msg.field.add(name=name, number=num, json_name=_camel(name),
                                  label=FDP.LABEL_REPEATED if label and label.startswith("repeated")
                                  else FDP.LABEL_OPTIONAL)
            if typ in _SCALARS:
                field.type = _SCALARS[typ]
            else:
                field.type = FDP.TYPE_MESSAGE
                field.type_name = typ if typ.startswith(".") else f"{prefix}.{typ}"
    if re.search(r"\b(enum|oneof|map\s*<|import)\b", text):
        raise ValueError("api.proto uses constructs the hand-built reader does not handle")
    return _from_file_protos([fdp], _names(fdp))


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def load(proto_dir, tmp):
    """Returns (namespace of message classes by short name, how it was built)."""
    for how, fn in (("protoc", _with_protoc), ("protoc-c descriptor set", _with_protoc_c)):
        try:
            ns = fn(proto_dir, tmp)
        except (OSError, subprocess.SubprocessError):
            ns = None
        if ns is not None:
            return ns, how
    with open(os.path.join(proto_dir, "api.proto")) as f:
        return build_by_hand(f.read()), "hand-built descriptor"
