"""Reading YAML input safely: text files only, no duplicate keys, no runaway nesting.

Files are read with :func:`sim.inputs.read_text` (regular files of at most
:data:`sim.inputs.MAX_BYTES`, UTF-8 only).  Scenario files, sweep designs and ``--set`` values are all YAML.  PyYAML's
``safe_load`` lets the last of two equal keys win silently, recurses once per
level of nesting (so a deeply nested document ends in a ``RecursionError``)
and leaves reading the file to the caller.  :func:`read_yaml` and
:func:`parse_yaml_value` close those holes: every problem is a
:class:`~sim.errors.ScenarioError` naming the file (and the line or key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import ScenarioError
from sim.inputs import read_text

#: Deepest nesting of mappings and lists accepted; scenarios need fewer than ten levels.
MAX_DEPTH = 100


class _InputError(Exception):
    """Raised inside the YAML loader; turned into a ScenarioError by the caller, who knows the file."""

    def __init__(self, where: str, message: str, allowed: str):
        super().__init__(message)
        self.where, self.message, self.allowed = where, message, allowed


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and nesting deeper than :data:`MAX_DEPTH`."""

    def __init__(self, stream, name: str | None = None):
        super().__init__(stream)
        self._depth = 0
        self._file = name

    def _at(self, mark) -> str:
        """``file:line`` of a mark, or the column within a one-line value."""
        return f"{self._file}:{mark.line + 1}" if self._file else f"column {mark.column + 1}"

    def compose_node(self, parent, index):
        event = self.peek_event()
        nests = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if nests:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                mark = event.start_mark
                raise _InputError(f"line {mark.line + 1}", f"nested deeper than {MAX_DEPTH} levels",
                                  f"at most {MAX_DEPTH} levels of mappings and lists")
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, str] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue   # '<<: *anchor' merges are overrides by design
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue   # an unhashable key: the base class reports it
                here = self._at(key_node.start_mark)
                if first is not None:
                    raise _InputError(f"line {key_node.start_mark.line + 1}",
                                      f"duplicate key '{key}': first at {first}, again at {here}",
                                      "each key once per mapping")
                seen[key] = here
        return super().construct_mapping(node, deep=deep)


def _load(text: str, name: str | None = None) -> Any:
    loader = StrictLoader(text, name)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: Path) -> dict:
    """Read one YAML mapping, turning I/O, encoding and syntax errors into ScenarioError.

    Refused, each with one message naming the file: a missing file, a folder,
    a file that is not UTF-8 text (binary, UTF-16), an empty file (or one of
    comments only), malformed YAML, a key given twice in one mapping (both
    lines named), nesting deeper than :data:`MAX_DEPTH`, and a top level that
    is not a mapping.
    """
    path = Path(path)
    text = read_text(path)
    try:
        data = _load(text, path.name)
    except _InputError as exc:
        raise ScenarioError.single(path, exc.where, exc.message, exc.allowed) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError.single(path, where, f"malformed YAML: {problem}", "valid YAML") from None
    if data is None:
        raise ScenarioError.single(
            path, "", "is empty (no keys, only blanks or comments)", "a mapping of keys to values"
        )
    if not isinstance(data, dict):
        raise ScenarioError.single(path, "", f"the top level is a {type(data).__name__}", "a mapping of keys to values")
    return data


def parse_yaml_value(text: str, source: str = "--set") -> Any:
    """Read one value written as YAML (``0.3``, ``true``, ``[1, 2]``); text that is not YAML stays a string.

    A duplicate key or too deep nesting inside the value is a ScenarioError
    (naming ``source``): it is YAML, but not a value anyone meant.
    """
    try:
        return _load(text)
    except _InputError as exc:
        raise ScenarioError.single(source, "", f"the value {_short(text)} has a {exc.message}"
                                   if exc.message.startswith("duplicate") else f"the value is {exc.message}",
                                   exc.allowed) from None
    except yaml.YAMLError:
        return text


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
