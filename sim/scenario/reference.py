"""The reference of every scenario key, read from the schema.

:func:`entries` walks the :class:`~sim.scenario.schema.Scenario` schema (with
the helpers of :mod:`sim.scenario.tree`) and yields one :class:`Entry` per
key: its dotted path (``banks.<id>.referral.rate``), type, default, allowed
range and meaning, all taken from the pydantic fields' annotations, defaults,
constraints and descriptions (or, for a block, its class docstring).  The
same entries give ``python -m sim schema [PATH]`` (:func:`render_text`) and
``docs/scenario-reference.md`` (:func:`render_markdown`), so the two cannot
disagree with the schema.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.errors import Problem, ScenarioError
from sim.scenario import tree
from sim.scenario.paths import check_dotted
from sim.scenario.schema import Scenario

#: The command that regenerates the committed reference.
REGENERATE = "python -m sim schema --markdown > docs/scenario-reference.md"

#: What the free key of a mapping of blocks stands for, by the mapping's field name.
PLACEHOLDERS = {"offers": "<product>", "blocks": "<block>", "products": "<product>"}

_BOUNDS = ("ge", "gt", "le", "lt")


@dataclass(frozen=True)
class Entry:
    """One key of the scenario schema, as the reference shows it.

    ``path`` is dotted, with ``<id>``-style placeholders for the free keys of
    mappings and ``<i>`` for list indices; ``kind`` is set for keys that exist
    only in one member of a union chosen by ``kind`` (the network).
    """

    path: str
    type: str
    default: str
    allowed: str
    meaning: str
    block: bool = False
    kind: str | None = None

    @property
    def keys(self) -> list[str]:
        return self.path.split(".")


# --------------------------------------------------------------------------- reading annotations
def _constraints(items: typing.Iterable) -> dict[str, Any]:
    """ge/gt/le/lt, min_length/max_length and pattern found in pydantic metadata."""
    found: dict[str, Any] = {}
    for item in items:
        if isinstance(item, FieldInfo):
            found.update(_constraints(item.metadata))
            continue
        for name in (*_BOUNDS, "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None and not callable(value):
                found[name] = value
    return found


def _inner_constraints(annotation) -> dict[str, Any]:
    """The constraints carried by ``Annotated`` layers of ``annotation`` (through Optional)."""
    found: dict[str, Any] = {}
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            found.update(_constraints(annotation.__metadata__))
            annotation = get_args(annotation)[0]
            continue
        stripped = tree.strip(annotation)
        if stripped is annotation:
            return found
        annotation = stripped


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(found: dict[str, Any]) -> str:
    """``[0, 1]``, ``(0, inf)``, ``length 4`` … from the constraints, or an empty string."""
    parts = []
    if any(name in found for name in _BOUNDS):
        low = f"[{_number(found['ge'])}" if "ge" in found else f"({_number(found['gt'])}" if "gt" in found else "(-inf"
        high = f"{_number(found['le'])}]" if "le" in found else f"{_number(found['lt'])})" if "lt" in found else "inf)"
        parts.append(f"{low}, {high}")
    low, high = found.get("min_length"), found.get("max_length")
    if low is not None and low == high:
        parts.append(f"exactly {low} entries")
    elif low is not None and high is not None:
        parts.append(f"{low} to {high} entries")
    elif low is not None:
        parts.append(f"at least {low} {'entry' if low == 1 else 'entries'}")
    elif high is not None:
        parts.append(f"at most {high} entries")
    if "pattern" in found:
        parts.append(f"matching `{found['pattern']}`")
    return "; ".join(parts)


def _each(inner: str) -> str:
    """The range of each item of a mapping or list, as a suffix of its type."""
    if not inner:
        return ""
    return f", each {inner}" if inner.startswith("matching") else f", each in {inner}"


def _is_optional(annotation) -> bool:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return type(None) in get_args(annotation)


def _type_name(annotation) -> str:
    """A reader's name of a type: number, integer, yes/no, text, one of …, list of …, mapping …."""
    optional = _is_optional(annotation)
    annotation = tree.strip(annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        name = "one of " + ", ".join(str(a) for a in get_args(annotation))
    elif origin is dict:
        key, value = get_args(annotation)
        key_name = "life stage" if get_origin(key) is Literal else "name"
        name = f"mapping {key_name} → {_type_name(value)}"
        name += _each(_range(_inner_constraints(value)))
    elif origin is list:
        (item,) = get_args(annotation)
        name = f"list of {_type_name(item)}"
        name += _each(_range(_inner_constraints(item)))
    elif annotation is bool:
        name = "yes/no"
    elif annotation is int:
        name = "integer"
    elif annotation is float:
        name = "number"
    elif annotation is str:
        name = "text"
    elif tree.is_model(annotation):
        name = "block"
    elif annotation is Any:
        name = "any value"
    elif get_origin(annotation) in (typing.Union, types.UnionType):
        name = "block chosen by kind"
    else:
        name = getattr(annotation, "__name__", str(annotation))
    return f"{name} or null" if optional else name


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(f"{k}: {{…}}" for k in value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _docstring(model: type[BaseModel]) -> str:
    """The first paragraph of a block's docstring, on one line."""
    text = (model.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(text.split())


def _union_members(annotation) -> list[type[BaseModel]]:
    annotation = tree.strip(annotation)
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in get_args(annotation) if tree.is_model(a)]
    return []


# --------------------------------------------------------------------------- walking the schema
def entries(model: type[BaseModel] = Scenario, prefix: str = "", kind: str | None = None) -> Iterator[Entry]:
    """Every key of ``model`` and of the blocks below it, depth first, in declaration order."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        stripped = tree.strip(annotation)
        found = {**_inner_constraints(annotation), **_constraints(field.metadata)}
        members = _union_members(annotation)
        if members:
            kinds = [get_args(tree.strip(m.model_fields["kind"].annotation))[0] for m in members]
            yield Entry(path, "block chosen by kind", _default_kind(field), "kind: " + ", ".join(kinds),
                        field.description or _union_doc(members), block=True, kind=kind)
            for member, member_kind in zip(members, kinds, strict=True):
                yield Entry(f"{path}.kind", f"one of {member_kind}", "required", "",
                            f"{_docstring(member)}", kind=member_kind)
                yield from (e for e in entries(member, f"{path}.", member_kind) if e.path != f"{path}.kind")
            continue
        if tree.is_model(stripped):
            meaning = field.description or _docstring(stripped)
            yield Entry(path, _type_name(annotation), _default(field), _range(found), meaning, block=True, kind=kind)
            yield from entries(stripped, f"{path}.", kind)
            continue
        origin = get_origin(stripped)
        below = get_args(stripped)[-1] if origin in (dict, list) else None
        if below is not None and tree.is_model(tree.strip(below)):
            below = tree.strip(below)
            free = PLACEHOLDERS.get(name, "<id>") if origin is dict else "<i>"
            shape = f"mapping {free[1:-1]} → block" if origin is dict else "list of blocks"
            meaning = field.description or _docstring(below)
            yield Entry(path, shape, _default(field), _range(found), meaning, block=True, kind=kind)
            yield Entry(f"{path}.{free}", "block", "", "", _docstring(below), block=True, kind=kind)
            yield from entries(below, f"{path}.{free}.", kind)
            continue
        meaning = field.description or ""
        yield Entry(path, _type_name(annotation), _default(field), _range(found), meaning, kind=kind)


def _default_kind(field: FieldInfo) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    return f"kind: {value.kind}" if isinstance(value, BaseModel) and hasattr(value, "kind") else _default(field)


def _union_doc(members: list[type[BaseModel]]) -> str:
    return "One of: " + "; ".join(_docstring(m) for m in members)


# --------------------------------------------------------------------------- selecting by path
def _matches(pattern: list[str], keys: list[str]) -> bool:
    """Whether the entry path ``pattern`` starts with the user's ``keys`` (placeholders match anything)."""
    if len(keys) > len(pattern):
        return False
    for want, have in zip(pattern, keys, strict=False):
        if want.startswith("<") and want.endswith(">"):
            if have.startswith("<") and have.endswith(">"):
                continue
            if want == "<i>" and not have.isdigit():
                return False
            continue
        if want != have:
            return False
    return True


def select(path: str | None, all_entries: list[Entry] | None = None) -> list[Entry]:
    """The entries at and below the dotted ``path`` (all of them for an empty path).

    Raises
    ------
    ScenarioError
        When ``path`` names no key; the problem lists the keys allowed where
        the path leaves the schema.
    """
    every = list(entries()) if all_entries is None else all_entries
    if not path:
        return every
    problem = check_dotted(path)
    if problem is not None:
        raise ScenarioError("schema", [problem])
    keys = path.split(".")
    chosen = [e for e in every if _matches(e.keys, keys)]
    if chosen:
        return chosen
    raise ScenarioError("schema", [_problem(keys, every)])


def _problem(keys: list[str], every: list[Entry]) -> Problem:
    """Where ``keys`` first leave the schema, and what is allowed there."""
    for depth in range(1, len(keys) + 1):
        if any(_matches(e.keys, keys[:depth]) for e in every):
            continue
        above = keys[:depth - 1]
        below = {e.keys[depth - 1] for e in every if len(e.keys) >= depth and _matches(e.keys[:depth - 1], above)
                 and len(e.keys[:depth - 1]) == len(above)}
        if not below:
            return Problem(".".join(above), "is a value, not a block with keys", None)
        allowed = "a list index 0, 1, …" if below == {"<i>"} else tree.describe(below)
        return Problem(".".join(keys[:depth]), f"unknown key '{keys[depth - 1]}'", allowed)
    raise AssertionError(f"{'.'.join(keys)} matches an entry; select() should have found it")


# --------------------------------------------------------------------------- rendering
def _describe_line(entry: Entry) -> str:
    parts = [entry.type]
    if entry.default and entry.default != "required":
        parts.append(f"default {entry.default}")
    elif entry.default == "required":
        parts.append("required")
    if entry.allowed:
        parts.append(entry.allowed)
    if entry.kind:
        parts.append(f"when kind = {entry.kind}")
    return "; ".join(parts)


def render_text(selected: list[Entry]) -> str:
    """One key per paragraph: the path, then type, default and range, then the meaning."""
    lines = []
    for entry in selected:
        lines.append(entry.path)
        lines.append(f"    {_describe_line(entry)}")
        if entry.meaning:
            lines.append(f"    {entry.meaning}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipes, no line breaks, no HTML tags)."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(all_entries: list[Entry] | None = None) -> str:
    """``docs/scenario-reference.md``: one section per top-level key, one table row per key."""
    every = list(entries()) if all_entries is None else all_entries
    out = [
        "# Scenario reference",
        "",
        "Every key a scenario file may hold, generated from `sim/scenario/schema.py`: do not edit by hand.",
        f"Regenerate with `{REGENERATE}`; `python -m sim schema PATH` prints the keys under one path",
        "(e.g. `python -m sim schema banks.<id>.referral`).",
        "",
        "`<id>`, `<product>` and `<block>` stand for the names you choose in the file; `<i>` for a list index.",
        "Ranges are closed `[ ]` or open `( )`; *per step* rates are per `time.unit`. SF and EF ids are the",
        "facts in [sources.md](sources.md).",
        "",
    ]
    sections: dict[str, list[Entry]] = {}
    for entry in every:
        leaf = len(entry.keys) == 1 and not entry.block
        sections.setdefault("" if leaf else entry.keys[0], []).append(entry)
    top = {e.path: e for e in every if len(e.keys) == 1}
    for name, rows in sections.items():
        if name:
            out += [f"## `{name}`", "", _cell(top[name].meaning), ""]
        else:
            out += ["## Top level", "", "What the scenario is, where it comes from, and how it is run.", ""]
        out += ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for entry in rows:
            meaning = entry.meaning + (f" *(kind {entry.kind})*" if entry.kind else "")
            out.append(f"| `{entry.path}` | {_cell(entry.type)} | {_cell(entry.default)} | "
                       f"{_cell(entry.allowed)} | {_cell(meaning)} |")
        out.append("")
    return "\n".join(line for line in out).rstrip("\n") + "\n"


__all__ = ["Entry", "REGENERATE", "entries", "render_markdown", "render_text", "select"]
