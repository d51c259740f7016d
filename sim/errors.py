"""The one exception type for bad input, and how it prints.

Every problem with a scenario file, a ``--set`` override, a sweep design or an
input data file is raised as :class:`ScenarioError`.  It names *where* (the
file and the dotted key path), *what* went wrong, and *what is allowed*, in the
style of scikit-learn's parameter validation, so that the command line can
print it in one or two lines and exit with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Exit status of the command line for bad input (a :class:`ScenarioError`).
EXIT_BAD_INPUT = 2


@dataclass
class Problem:
    """One thing wrong with an input: where, what, and what is allowed.

    ``source`` names the file when it is not the error's own (a value
    inherited from an ``extends`` parent, among problems from several files).
    """

    path: str
    message: str
    allowed: str | None = None
    source: str | None = None

    def render(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.source:
            text = f"{self.source}: {text}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class ScenarioError(ValueError):
    """A scenario, override, design or data file that cannot be used.

    Parameters
    ----------
    source : str or Path or None
        The file (or ``--set`` / ``--grid`` option) the problem comes from.
    problems : list of Problem
        One or more problems found; all are reported together.
    """

    def __init__(self, source: str | Path | None, problems: list[Problem]):
        self.source = str(source) if source is not None else "<scenario>"
        self.problems = problems
        super().__init__(self.render())

    @classmethod
    def single(cls, source, path: str, message: str, allowed: str | None = None) -> ScenarioError:
        """Build an error with one problem."""
        return cls(source, [Problem(path, message, allowed)])

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        if len(lines) == 1:
            return f"{self.source}: {lines[0]}"
        body = "\n".join(f"  - {line}" for line in lines)
        return f"{self.source}: {len(lines)} problems\n{body}"
