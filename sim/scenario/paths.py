"""Dotted parameter paths: ``banks.citic.referral.bonus``.

Every scenario parameter is reachable by a dotted path so that ``--set``,
timeline events and sweeps can change it.  Paths are checked against the
schema, not just against what a file happens to spell out, so a parameter
left at its default can still be set, while a misspelt key or an institution
id that nobody defines is an error that lists what is allowed.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from sim.errors import Problem


def parse_value(text: str) -> Any:
    """Read a command-line value the way YAML would (``0.3``, ``true``, ``[1, 2]``, ``null``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _strip(annotation):
    """Peel ``Annotated`` and ``Optional`` off a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _model_for_union(annotation, data: Any):
    """Pick the member of a discriminated union that ``data`` (a dict with ``kind``) selects."""
    members = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    kind = data.get("kind") if isinstance(data, dict) else None
    for member in members:
        literal = member.model_fields.get("kind")
        if literal is not None and kind in get_args(_strip(literal.annotation)):
            return member
    return None


def _describe(keys) -> str:
    return ", ".join(sorted(str(k) for k in keys)) or "(none)"


def set_path(data: dict, path: str, value: Any, schema: type[BaseModel]) -> Problem | None:
    """Set ``path`` to ``value`` inside the raw scenario mapping ``data``.

    Intermediate mappings left at their defaults are created.  Returns a
    :class:`~sim.errors.Problem` instead of raising, so that callers can
    collect every bad path before reporting.
    """
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        return Problem(path, "is not a dotted path", "keys joined by '.', e.g. banks.citic.referral.bonus")
    node: Any = data
    annotation: Any = schema
    walked: list[str] = []
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        annotation = _strip(annotation)
        origin = get_origin(annotation)
        here = ".".join(walked + [key])
        if origin in (Union, types.UnionType):
            annotation = _model_for_union(annotation, node)
            if annotation is None:
                return Problem(".".join(walked), "cannot tell which kind of block this is", "set its 'kind' first")
            origin = None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if key not in annotation.model_fields:
                return Problem(here, f"unknown key '{key}'", _describe(annotation.model_fields))
            child_annotation = annotation.model_fields[key].annotation
        elif origin is dict:
            if key not in node:
                return Problem(here, f"no entry named '{key}'", _describe(node.keys()))
            child_annotation = get_args(annotation)[1]
        elif origin is list:
            if not key.isdigit() or int(key) >= len(node):
                return Problem(here, f"'{key}' is not an index of this list", f"0..{len(node) - 1}" if node else "(empty list)")
            key = int(key)
            child_annotation = get_args(annotation)[0]
        else:
            return Problem(".".join(walked), "is a value, not a block with keys", None)
        if last:
            node[key] = value
            return None
        child = node.get(key) if isinstance(node, dict) else node[key]
        if child is None:
            child = {}
            node[key] = child
        if not isinstance(child, (dict, list)):
            return Problem(here, "is a value, not a block with keys", None)
        node = child
        annotation = child_annotation
        walked.append(str(key))
    return None


def get_path(obj: Any, path: str) -> Any:
    """Read a dotted path from a validated scenario (models, dicts and lists)."""
    node = obj
    for key in path.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, key)
        elif isinstance(node, dict):
            node = node[key]
        else:
            node = node[int(key)]
    return node
