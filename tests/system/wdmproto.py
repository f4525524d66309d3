"""Python message classes for proto/api.proto and proto/saga.proto, without installing
anything.

`load` returns a namespace with every message class by its short name (ItemReply,
SagaCommand, SagaEvent, ...), every enum as a wrapper by its name (CommandKind.Value,
.Name) and every enum value as a constant (CHARGE, APPLIED, ...), like a generated module.

Tried in order: `protoc --descriptor_set_out` (package protobuf-compiler), `protoc-c
--descriptor_set_out` (protoc-c is needed by the build anyway), and last
FileDescriptorProtos built here from a small reader of the .proto text (enough for our
files: flat messages of scalar, enum, repeated and message fields; top-level enums;
imports within the one package)."""

import os
import re
import shutil
import subprocess
import types

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal import enum_type_wrapper

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
# The contract's files, each after the files it imports.
PROTO_FILES = ("api.proto", "saga.proto")


def _full(fdp, name):
    return f"{fdp.package}.{name}" if fdp.package else name


def _from_file_protos(file_protos, wanted=None):
    """Namespace of the messages and enums of the files named in `wanted` (default: all).
    A private pool, so that these classes never clash with anything else registered."""
    pool = descriptor_pool.DescriptorPool()
    for fp in file_protos:
        pool.Add(fp)
    out = {}
    for fp in file_protos:
        if wanted is not None and os.path.basename(fp.name) not in wanted:
            continue
        for m in fp.message_type:
            desc = pool.FindMessageTypeByName(_full(fp, m.name))
            if hasattr(message_factory, "GetMessageClass"):
                out[m.name] = message_factory.GetMessageClass(desc)
            else:
                out[m.name] = message_factory.MessageFactory(pool).GetPrototype(desc)
        for e in fp.enum_type:
            desc = pool.FindEnumTypeByName(_full(fp, e.name))
            out[e.name] = enum_type_wrapper.EnumTypeWrapper(desc)
            for v in e.value:
                out[v.name] = v.number
    return types.SimpleNamespace(**out)


def _descriptor_set(compiler, proto_dir, tmp):
    """Runs `compiler` (protoc or protoc-c) for PROTO_FILES into a descriptor set."""
    out = os.path.join(tmp, "wdm.fds")
    subprocess.run([compiler, f"-I{proto_dir}", "--include_imports", f"--descriptor_set_out={out}"]
                   + [os.path.join(proto_dir, f) for f in PROTO_FILES],
                   check=True, capture_output=True, timeout=60)
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())
    return _from_file_protos(list(fds.file), set(PROTO_FILES))


def _with_protoc(proto_dir, tmp):
    protoc = shutil.which("protoc")
    return _descriptor_set(protoc, proto_dir, tmp) if protoc else None


def _with_protoc_c(proto_dir, tmp):
    protoc_c = shutil.which("protoc-c")
    return _descriptor_set(protoc_c, proto_dir, tmp) if protoc_c else None


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _parse_by_hand(proto_text, file_name, enums_before=()):
    """One .proto file as a FileDescriptorProto. enums_before: full names (".pkg.E") of
    the enums of the files it imports, to tell enum fields from message fields."""
    text = _strip_comments(proto_text)
    fdp = descriptor_pb2.FileDescriptorProto(name=file_name, syntax="proto3")
    m = re.search(r"\bpackage\s+([\w.]+)\s*;", text)
    if m:
        fdp.package = m.group(1)
    prefix = "." + fdp.package if fdp.package else ""
    fdp.dependency.extend(re.findall(r"\bimport\s+\"([^\"]+)\"\s*;", text))
    if re.search(r"\b(oneof|map\s*<)", text):
        raise ValueError(f"{file_name} uses constructs the hand-built reader does not handle")

    enums = set(enums_before)
    for m in re.finditer(r"\benum\s+(\w+)\s*\{([^{}]*)\}", text):
        enum = fdp.enum_type.add(name=m.group(1))
        enums.add(f"{prefix}.{enum.name}")
        for stmt in filter(None, (s.strip() for s in m.group(2).split(";"))):
            v = re.fullmatch(r"(\w+)\s*=\s*(-?\d+)", stmt)
            if not v:
                raise ValueError(f"{file_name}: cannot read value {stmt!r} of {enum.name}")
            enum.value.add(name=v.group(1), number=int(v.group(2)))

    for m in re.finditer(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
        msg = fdp.message_type.add(name=m.group(1))
        for stmt in filter(None, (s.strip() for s in m.group(2).split(";"))):
            f = re.fullmatch(r"(repeated\s+|optional\s+)?([\w.]+)\s+(\w+)\s*=\s*(\d+)(\s*\[.*\])?", stmt, flags=re.S)
            if not f:
                raise ValueError(f"{file_name}: cannot read field {stmt!r} of {msg.name}")
            label, typ, name, num = f.group(1), f.group(2), f.group(3), int(f.group(4))
            field = msg.field.add(name=name, number=num, json_name=_camel(name),
                                  label=FDP.LABEL_REPEATED if label and label.startswith("repeated")
                                  else FDP.LABEL_OPTIONAL)
            if typ in _SCALARS:
                field.type = _SCALARS[typ]
                continue
            field.type_name = typ if typ.startswith(".") else f"{prefix}.{typ}"
            field.type = FDP.TYPE_ENUM if field.type_name in enums else FDP.TYPE_MESSAGE
    return fdp, enums


def build_by_hand(proto_text, file_name="wdm_systest/api.proto"):
    """Namespace of one self-contained .proto text's messages and enums."""
    fdp, _ = _parse_by_hand(proto_text, file_name)
    return _from_file_protos([fdp])


def build_files_by_hand(proto_dir, files=PROTO_FILES):
    """Namespace of the messages and enums of `files` (each after what it imports)."""
    fdps, enums = [], set()
    for name in files:
        with open(os.path.join(proto_dir, name)) as f:
            fdp, enums = _parse_by_hand(f.read(), name, enums)
        fdps.append(fdp)
    return _from_file_protos(fdps)


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def load(proto_dir, tmp):
    """Returns (namespace of message classes, enums and enum values by name, how it was
    built)."""
    for how, fn in (("protoc", _with_protoc), ("protoc-c descriptor set", _with_protoc_c)):
        try:
            ns = fn(proto_dir, tmp)
        except (OSError, subprocess.SubprocessError):
            ns = None
        if ns is not None:
            return ns, how
    return build_files_by_hand(proto_dir), "hand-built descriptor"
