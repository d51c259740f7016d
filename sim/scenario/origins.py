"""Which file each value of a merged scenario comes from.

A scenario that ``extends:`` another is the merge of a chain of files, and a
``--set`` override is one more layer on top.  An :class:`Origins` tree is
built beside the merged mapping, layer by layer with the same rule as
:func:`~sim.scenario.loader.deep_merge`, so that an error at any key path can
name the file that holds the bad value: the parent, for an inherited one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def merges(old: Any, new: Any) -> bool:
    """Whether ``new`` merges into ``old`` key by key (rather than replacing it whole).

    Mappings merge unless ``new`` names another ``kind`` (another network
    generator, say): the keys of the old kind mean nothing to the new one.
    """
    return isinstance(new, Mapping) and isinstance(old, dict) and new.get("kind", old.get("kind")) == old.get("kind")


@dataclass
class Origins:
    """The file of a value and, for a mapping or list, of each of its entries."""

    source: str
    children: dict[Any, Origins] = field(default_factory=dict)
    #: The overrides recorded by :meth:`set` on this (root) node: ``(dotted path, value, source)``, in order.
    overrides: list[tuple[str, Any, str]] = field(default_factory=list)

    @classmethod
    def of(cls, value: Any, source: str) -> Origins:
        """Every value inside ``value`` comes from ``source``."""
        if isinstance(value, Mapping):
            return cls(source, {k: cls.of(v, source) for k, v in value.items()})
        if isinstance(value, list):
            return cls(source, {i: cls.of(v, source) for i, v in enumerate(value)})
        return cls(source)

    def merged(self, base: Mapping, override: Mapping, source: str) -> Origins:
        """The origins after ``override`` (from ``source``) is merged over ``base`` (whose origins are ``self``)."""
        children = dict(self.children)
        for key, value in override.items():
            old = base.get(key)
            if merges(old, value) and key in children:
                children[key] = children[key].merged(old, value, source)
            else:
                children[key] = Origins.of(value, source)
        return Origins(source, children)

    def set(self, keys: list, value: Any, source: str) -> None:
        """Record that ``value`` was written at ``keys`` by ``source`` (a ``--set`` override)."""
        self.overrides.append((".".join(str(k) for k in keys), value, source))
        node = self
        for key in keys:
            key = int(key) if isinstance(key, str) and key.isdigit() and key not in node.children else key
            node = node.children.setdefault(key, Origins(source))
        node.source, node.children = source, Origins.of(value, source).children

    def overrides_within(self, path: str) -> list[tuple[str, Any, str]]:
        """The overrides that wrote the value at the dotted ``path`` or something inside it."""
        where = split_path(path)
        return [entry for entry in self.overrides
                if [str(k) for k in split_path(entry[0])][:len(where)] == [str(k) for k in where]]

    def find(self, path: str) -> str:
        """The file of the value at the dotted ``path`` (``events[0].set.x``), or of the nearest block around it."""
        node = self
        for key in split_path(path):
            nxt = node.children.get(key)
            if nxt is None and isinstance(key, str) and key.isdigit():
                nxt = node.children.get(int(key))
            if nxt is None:
                break
            node = nxt
        return node.source


_EVENT_PREFIX = re.compile(r" \(at step \d+\)(?::| ->\.?) ?")
_INDEX = re.compile(r"\[(\d+)\]")


def split_path(path: str) -> list:
    """``"events[0] (at step 3): banks.a"`` -> ``["events", 0, "banks", "a"]``."""
    path = _EVENT_PREFIX.sub(".", path)
    parts: list = []
    for piece in path.split("."):
        if not piece:
            continue
        head = _INDEX.split(piece)
        if head[0]:
            parts.append(head[0])
        parts += [int(x) for x in head[1::2]]
    return parts
