"""Errors of the corpus build: each names the file, what was found and what was expected."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CorpusError(Exception):
    """Base class: something about the raw data is not as the reader expects."""


class SourceMissing(CorpusError):
    """A source folder or one of its files is not there (the build skips the source with a warning)."""

    def __init__(self, path: Path | str, what: str = "", hint: str = "") -> None:
        self.path = str(path)
        super().__init__(
            f"missing {what or 'file or folder'}: {self.path} was not found" + (f" ({hint})" if hint else "")
        )


class FormatError(CorpusError):
    """A file is there but its columns or layout changed."""

    def __init__(self, path: Path | str, found: object, expected: object, what: str = "columns") -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: unexpected {what}: found {found!r}; expected {expected!r}")


class UnknownLabel(CorpusError):
    """A raw label that the mapping table (training/corpus/mappings.json) does not know."""

    def __init__(self, path: Path | str, label: object, expected: Iterable[object], source: str = "") -> None:
        self.path = str(path)
        self.label = label
        super().__init__(
            f"{self.path}: unknown {source + ' ' if source else ''}label {label!r}; expected one of: "
            f"{', '.join(map(str, expected))} (add it to training/corpus/mappings.json with a reason)"
        )
