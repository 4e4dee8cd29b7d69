"""What a set of files holds: their distinct writer schemas and how each differs.

Behind ``jetliner schemas GLOB``: every file's header is read (concurrently, one
small request each on object stores), files are grouped by writer schema, and each
schema is compared with the one before it, field by field (nested fields by their
path, such as ``order.items[].price``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jetliner.opening import OPEN_THREADS, open_file
from jetliner.options import ReadOptions
from jetliner.sources import Source

__all__ = ["SchemaGroup", "field_types", "schema_changes", "writer_schemas"]

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


@dataclass
class SchemaGroup:
    """One distinct writer schema and the files written with it.

    Attributes
    ----------
    schema
        The schema as JSON (the first file's text, parsed).
    files
        The paths or URLs of the files that use it, in the sources' order.
    """

    schema: Any
    files: list[str] = field(default_factory=list)


def _key(schema_json: str) -> str:
    """Return the schema's identity: its JSON without formatting and key order."""
    return json.dumps(json.loads(schema_json), sort_keys=True, separators=(",", ":"))


def writer_schemas(sources: Sequence[Source], options: ReadOptions) -> list[SchemaGroup]:
    """Read every source's header, concurrently; group them by writer schema.

    Returns the groups in the order of their first file.  The first failure (in the
    sources' order) is raised.
    """
    def header(source: Source) -> str:
        info = open_file(source, options)
        try:
            return info.header.schema_json
        finally:
            info.stream.close()

    futures = [OPEN_THREADS.get().submit(header, s) for s in sources]
    groups: dict[str, SchemaGroup] = {}
    try:
        for source, future in zip(sources, futures, strict=True):
            text = future.result()
            key = _key(text)
            if key not in groups:
                groups[key] = SchemaGroup(json.loads(text))
            groups[key].files.append(source.path)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return list(groups.values())


class _Names:
    """Named types seen so far, by full name, to resolve references."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def define(self, t: dict[str, Any], namespace: str) -> tuple[str, str]:
        """Record named type `t`; return its full name and the namespace inside it."""
        name = str(t.get("name", ""))
        if "." in name:
            full = name
        else:
            space = t.get("namespace", namespace)
            full = f"{space}.{name}" if space else name
        self.types.setdefault(full, t)
        return full, full.rpartition(".")[0]

    def lookup(self, ref: str, namespace: str) -> tuple[str, dict[str, Any]] | None:
        for full in ((ref,) if "." in ref else (f"{namespace}.{ref}", ref)):
            if full in self.types:
                return full, self.types[full]
        return None


def _describe(t: Any, names: _Names, namespace: str) -> str:
    """Describe Avro type `t` briefly and comparably (named types by full name)."""
    if isinstance(t, str):
        if t in _PRIMITIVES:
            return t
        found = names.lookup(t, namespace)
        if found is None:
            return t
        return _describe_named(found[1], found[0])
    if isinstance(t, list):
        return " | ".join(_describe(b, names, namespace) for b in t)
    if not isinstance(t, dict):
        return json.dumps(t)
    kind = t.get("type")
    logical = t.get("logicalType")
    if kind in ("record", "error", "enum", "fixed"):
        full, _ = names.define(t, namespace)
        return _describe_named(t, full)
    if kind == "array":
        return f"array<{_describe(t.get('items'), names, namespace)}>"
    if kind == "map":
        return f"map<{_describe(t.get('values'), names, namespace)}>"
    base = _describe(kind, names, namespace)
    if logical == "decimal":
        return f"{base} (decimal({t.get('precision')},{t.get('scale', 0)}))"
    return f"{base} ({logical})" if isinstance(logical, str) else base


def _describe_named(t: dict[str, Any], full: str) -> str:
    kind = t.get("type")
    if kind == "enum":
        return f"enum {full} [{', '.join(map(str, t.get('symbols', [])))}]"
    if kind == "fixed":
        logical = t.get("logicalType")
        extra = f", {logical}" if isinstance(logical, str) else ""
        return f"fixed {full} ({t.get('size')}{extra})"
    return f"record {full}"


_NO_DEFAULT = object()


def field_types(schema: Any) -> dict[str, tuple[str, Any]]:
    """Every field of a record schema, nested ones included, by path.

    A nested record's fields are listed under ``parent.child``; through arrays
    ``parent[].child`` and maps ``parent{}.child``; through unions too.  Each path
    maps to ``(type description, default)``, the default being a private marker
    when the field has none.  A recursive type is not entered again.
    """
    names = _Names()
    out: dict[str, tuple[str, Any]] = {}

    def record_fields(t: dict[str, Any], prefix: str, namespace: str, inside: set[str]) -> None:
        for f in t.get("fields", []):
            if not isinstance(f, dict):
                continue
            path = f"{prefix}{f.get('name')}"
            ftype = f.get("type")
            out[path] = (_describe(ftype, names, namespace), f.get("default", _NO_DEFAULT))
            descend(ftype, path, namespace, inside)

    def descend(t: Any, path: str, namespace: str, inside: set[str]) -> None:
        if isinstance(t, list):
            for b in t:
                descend(b, path, namespace, inside)
            return
        if isinstance(t, str):
            found = names.lookup(t, namespace)
            if found is not None and found[0] not in inside:
                descend_named(found[1], found[0], path, inside)
            return
        if not isinstance(t, dict):
            return
        kind = t.get("type")
        if kind in ("record", "error"):
            full, _ = names.define(t, namespace)
            if full not in inside:
                descend_named(t, full, path, inside)
        elif kind == "array":
            descend(t.get("items"), f"{path}[]", namespace, inside)
        elif kind == "map":
            descend(t.get("values"), f"{path}{{}}", namespace, inside)

    def descend_named(t: dict[str, Any], full: str, path: str, inside: set[str]) -> None:
        if t.get("type") in ("record", "error"):
            record_fields(t, f"{path}.", full.rpartition(".")[0], inside | {full})

    if isinstance(schema, dict) and schema.get("type") in ("record", "error"):
        full, space = names.define(schema, "")
        record_fields(schema, "", space, {full})
    else:
        out[""] = (_describe(schema, names, ""), _NO_DEFAULT)
    return out


def _default_text(value: Any) -> str:
    return "no default" if value is _NO_DEFAULT else f"default {json.dumps(value)}"


def schema_changes(before: Any, after: Any) -> list[str]:
    """List the fields `after` adds, removes and retypes relative to `before`.

    Lines start with ``+`` (added, with its default), ``-`` (removed) or ``~``
    (type or default changed: before -> after).
    """
    old, new = field_types(before), field_types(after)
    lines = []
    for path, (kind, default) in new.items():
        if path not in old:
            lines.append(f"+ {path}: {kind} ({_default_text(default)})")
            continue
        was, was_default = old[path]
        if was != kind:
            lines.append(f"~ {path}: {was} -> {kind}")
        if (was_default is _NO_DEFAULT) != (default is _NO_DEFAULT) or (
                default is not _NO_DEFAULT and was_default != default):
            lines.append(f"~ {path}: {_default_text(was_default)} -> {_default_text(default)}")
    lines += [f"- {path}: {kind}" for path, (kind, _) in old.items() if path not in new]
    return lines
