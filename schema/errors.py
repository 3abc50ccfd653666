"""One tree of errors for the core: every failure a caller may want to tell apart has its own class."""

from __future__ import annotations

from dataclasses import dataclass


class StvsError(Exception):
    """Base of every error raised on purpose by stvs-tui."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: which field, and why (a sentence a clerk can act on)."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidValue(StvsError, ValueError):
    """A single value failed its validator."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.error = FieldError(field, message)


class InvalidRecord(StvsError, ValueError):
    """A record failed validation; ``errors`` lists every field at fault."""

    def __init__(self, table: str, errors: list[FieldError]) -> None:
        super().__init__(f"{table}: " + "; ".join(str(e) for e in errors))
        self.table = table
        self.errors = errors


class StoreError(StvsError):
    """The local store cannot be used."""


class StoreTooNew(StoreError):
    """The store was written by a newer stvs-tui than this one."""


class StoreCorrupt(StoreError):
    """The file is not a readable stvs-tui store."""


class StoreUnavailable(StoreError):
    """The store's file or folder cannot be used as it is: not found, not a folder, not writable, read-only."""


class UnknownRegion(StvsError, ValueError):
    """A region code that is not in the loaded region list."""
