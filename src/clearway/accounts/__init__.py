"""Workspace accounts: the passwords people type, hashed and checked here,
away from the store (which keeps and returns hashes only) and away from
the event loop (scrypt is slow on purpose: callers run it in a thread)."""

from clearway.accounts.passwords import (
    MIN_LENGTH,
    check_password,
    hash_password,
    new_password,
)

__all__ = ["MIN_LENGTH", "check_password", "hash_password", "new_password"]
