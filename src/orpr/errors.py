"""Errors a user can act on: bad input named by file, column, row or unit, and value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """Bad input: reported as one line, exit code 2, never a traceback.

    Attributes:
        file: the file (or folder) the bad value came from.
        problem: what is wrong, in a few words (``"negative sales"``).
        column: the column holding the value, if any.
        where: the row or unit that holds it (``"row 17"``, ``"unit 3_41"``), if any.
        value: the offending value, if any.
    """

    file: str
    problem: str
    column: str | None = None
    where: str | None = None
    value: object = None

    def __str__(self) -> str:
        parts = [str(self.file)]
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.where is not None:
            parts.append(str(self.where))
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ": ".join([", ".join(parts), self.problem])
