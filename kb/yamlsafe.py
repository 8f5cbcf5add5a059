"""Safe YAML reading that remembers where every value stands.

PyYAML keeps the last of two duplicate keys and expands anchors (the "billion laughs" attack), so this
module composes the node tree itself: duplicate keys, anchors and aliases, oversized files, invalid UTF-8
and empty documents become `YamlError`s that carry a line number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
# What a YAML file may hold raw (PyYAML's reader); a value may not sneak anything else in through escapes.
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}  # lists and mappings carry no other tag
# Scalars: text, numbers, true/false, null and dates. Any other tag (!!binary, !!python/..., !!set) is refused:
# !!binary would smuggle decoded control bytes past the character checks.
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
# Invisible characters that change how text reads (a bidi override shows a name reversed) or hide inside
# it (zero-width characters): refused in every value, as control characters are.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# YAML 1.1 reads these plain forms as numbers of another base: 33:40 is 2020 (base 60), 016 is 14 (octal).
_OTHER_BASE = re.compile(r"[-+]?(?:0[0-7_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)")

Loc = tuple[Any, ...]


class YamlError(Exception):
    """A problem that stops a file from being read, at a 1-based line; `loc` is the value's place when the
    problem is one value (an invalid date names its field), else None."""

    def __init__(self, line: int, message: str, loc: Loc | None = None):
        super().__init__(message)
        self.line = line
        self.message = message
        self.loc = loc


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: ANN001 (PyYAML's signature)
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlError(event.start_mark.line + 1, "anchors and aliases (& and *) are not allowed")
        return super().compose_node(parent, index)


def _convert(loader: _Loader, node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise YamlError(node.start_mark.line + 1, f"the tag {node.tag} is not allowed")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node)
            if not isinstance(key, (str, int, float, bool)):
                raise YamlError(key_node.start_mark.line + 1, "mapping keys must be plain scalars")
            if key in out:
                raise YamlError(key_node.start_mark.line + 1, f"duplicate key '{key}'")
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, loc + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, loc + (i,), lines) for i, item in enumerate(node.value)]
    try:
        return _scalar(loader, node)
    except YamlError as exc:
        exc.loc = loc if exc.loc is None and loc else exc.loc
        raise


def _scalar(loader: _Loader, node: yaml.Node) -> Any:
    """Construct one value; PyYAML raises plain exceptions for e.g. `2023-02-30` or `!!int abc`."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.tag not in _SCALAR_TAGS and node.tag in loader.yaml_constructors:
        raise YamlError(line, f"the tag {node.tag} is not allowed")  # (tags PyYAML cannot build fail below)
    if isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") \
            and _OTHER_BASE.fullmatch(node.value):
        raise YamlError(line, f"'{node.value}' would be read as the number {loader.construct_object(node)} "
                        f"(YAML 1.1 reads it in base {8 if ':' not in node.value else 60}); quote it to keep it as text")
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except Exception as exc:  # ValueError, KeyError, AttributeError from PyYAML's constructors
        kind = str(node.tag).rsplit(":", 1)[-1]
        label = {"timestamp": "date (YYYY-MM-DD; quote anything else)", "bool": "true/false"}.get(kind, kind)
        detail = f": {exc}" if isinstance(exc, ValueError) else ""
        raise YamlError(node.start_mark.line + 1, f"'{str(node.value)[:60]}' is not a valid {label}{detail}") from None
    bad = _NON_PRINTABLE.search(value) if isinstance(value, str) else None
    if bad:  # only reachable through escapes like "\x00" or "\ud800"; pages could not even be written
        raise YamlError(node.start_mark.line + 1, f"holds the non-printable character U+{ord(bad.group()):04X}")
    bad = INVISIBLE.search(value) if isinstance(value, str) else None
    if bad:
        raise YamlError(line, f"holds the invisible character U+{ord(bad.group()):04X} (a bidi control or "
                        "zero-width character); remove it")
    return value


def read_text(path: Path) -> str:
    """Read a UTF-8 file, refusing oversized files and invalid bytes with a line number."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)  # never more: a device file (/dev/zero) has no end
    if len(raw) > MAX_BYTES:
        size = path.stat().st_size if path.is_file() else 0
        found = f"{size} bytes" if size > MAX_BYTES else f"over {MAX_BYTES} bytes"
        raise YamlError(1, f"file is {found}; the limit is {MAX_BYTES}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(raw[: exc.start].count(b"\n") + 1, "invalid UTF-8") from None


def parse(text: str) -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document; return the data and a map from value location to line."""
    bad = _NON_PRINTABLE.search(text)
    if bad:  # PyYAML's reader raises this from its constructor, outside any error handling below
        raise YamlError(text.count("\n", 0, bad.start()) + 1,
                        f"the non-printable character U+{ord(bad.group()):04X} is not allowed in YAML")
    loader = _Loader(text)
    lines: dict[Loc, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlError(1, "file is empty")
        return _convert(loader, node, (), lines), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(line, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlError(1, f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlError(1, "values are nested too deeply") from None
    finally:
        loader.dispose()


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of the deepest known location on the path `loc` (1 when nothing matches)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1
