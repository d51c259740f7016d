"""The schema as a tree: what the key ``k`` of a block may be, and what lies under it.

Dotted paths (``--set``, events, sweeps) and pydantic's error locations both
name a place in the scenario by a chain of keys.  :func:`walk` follows such a
chain through the :class:`~sim.scenario.schema.Scenario` schema and the raw
mapping side by side, one :func:`child` step at a time, and reports the first
key that leads nowhere as a :class:`~sim.errors.Problem` that lists what is
allowed there.  It is the one walker of the schema: :func:`set_path
<sim.scenario.paths.set_path>` writes through it and the loader asks it which
keys a block allows.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from sim.errors import Problem


def strip(annotation):
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


def model_for_union(annotation, data: Any):
    """Pick the member of a discriminated union that ``data`` (a dict with ``kind``) selects."""
    members = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    kind = data.get("kind") if isinstance(data, dict) else None
    for member in members:
        literal = member.model_fields.get("kind")
        if literal is not None and kind in get_args(strip(literal.annotation)):
            return member
    return None


def describe(keys: Iterable) -> str:
    """The allowed keys, sorted and joined, or ``(none)``."""
    return ", ".join(sorted(str(k) for k in keys)) or "(none)"


def block(annotation, node: Any):
    """The annotation of the value ``node``, stripped and with a union resolved by its ``kind``.

    Returns None for a union that ``node`` does not select a member of.
    """
    annotation = strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return model_for_union(annotation, node)
    return annotation


def is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass
class Step:
    """One key resolved inside a block: the key as the raw data indexes it, and the schema below it."""

    key: str | int
    annotation: Any


def child(annotation, node: Any, key: str | int, where: str, here: str, *, strict: bool = True) -> Step | Problem:
    """Resolve ``key`` inside the block ``node`` whose schema is ``annotation``.

    Parameters
    ----------
    annotation
        The schema of ``node`` (a model, ``dict[K, V]``, ``list[V]`` or a union).
    node
        The raw value at this place (None when absent).
    key
        The key to follow; a list index may be an int or a string of digits.
    where, here
        The dotted paths of ``node`` and of ``node[key]``, for the message.
    strict
        If true, an entry of a ``dict`` or an index of a ``list`` must exist
        in ``node``; if false, only the schema is checked.

    Returns
    -------
    Step or Problem
        What ``key`` leads to, or why it leads nowhere and what is allowed.
    """
    annotation = block(annotation, node)
    if annotation is None:
        return Problem(where, "cannot tell which kind of block this is", "set its 'kind' first")
    origin = get_origin(annotation)
    if is_model(annotation):
        if key not in annotation.model_fields:
            return Problem(here, f"unknown key '{key}'", describe(annotation.model_fields))
        return Step(key, annotation.model_fields[key].annotation)
    if origin is dict:
        if strict and (not isinstance(node, dict) or key not in node):
            return Problem(here, f"no entry named '{key}'", describe(node.keys() if isinstance(node, dict) else ()))
        return Step(key, get_args(annotation)[1])
    if origin is list:
        index = key if isinstance(key, int) else int(key) if str(key).isdigit() else None
        size = len(node) if isinstance(node, list) else 0
        if index is None or (strict and index >= size):
            return Problem(here, f"'{key}' is not an index of this list", f"0..{size - 1}" if size else "(empty list)")
        return Step(index, get_args(annotation)[0])
    return Problem(where, "is a value, not a block with keys", None)


def _index(node: Any, key: str | int) -> Any:
    try:
        return node[key]
    except (KeyError, IndexError, TypeError):
        return None


@dataclass
class Place:
    """Where a walk ended: the raw block holding the last key, that key, and the schema of its value."""

    parent: Any
    key: str | int
    annotation: Any


def walk(schema, data: Any, keys: Sequence[str | int], *, strict: bool = True, create: bool = False) -> Place | Problem:
    """Follow ``keys`` from the root ``data`` (whose schema is ``schema``) to the last key.

    With ``create``, intermediate mappings left at their defaults are made
    (empty) in ``data``, so that the last key can be written.  A non-strict
    walk checks the keys against the schema only (see :func:`child`).
    Returns the :class:`Place` of the last key, or the first
    :class:`~sim.errors.Problem` met on the way.
    """
    assert keys, "walk needs at least one key"
    node: Any = data
    annotation: Any = schema
    walked: list[str] = []
    for i, key in enumerate(keys):
        where = ".".join(walked)
        step = child(annotation, node, key, where, ".".join([*walked, str(key)]), strict=strict)
        if isinstance(step, Problem):
            return step
        if i == len(keys) - 1:
            return Place(node, step.key, step.annotation)
        below = _index(node, step.key)
        if below is None and create:
            below = {}
            node[step.key] = below
        if create and not isinstance(below, (dict, list)):
            return Problem(".".join([*walked, str(key)]), "is a value, not a block with keys", None)
        node, annotation = below, step.annotation
        walked.append(str(step.key))
    raise AssertionError("unreachable: the loop returns at the last key")


def allowed_keys(schema, data: Any, keys: Sequence[str | int]) -> str | None:
    """The field names of the block at ``keys`` (what may appear in it), or None if it is not a model."""
    if keys:
        place = walk(schema, data, keys, strict=False)
        if isinstance(place, Problem):
            return None
        annotation = block(place.annotation, _index(place.parent, place.key))
    else:
        annotation = block(schema, data)
    if is_model(annotation):
        return describe(annotation.model_fields)
    return None
