"""The store's exceptions, shared by the engine (store.db) and the migrations (store.migrate)."""

from __future__ import annotations


class StoreError(Exception):
    """A database problem, with a one-line message for a person."""


class StoreBusy(StoreError):
    """The database stayed locked (or a serialization conflict repeated) through every retry."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong with the database, without SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text[:200]
