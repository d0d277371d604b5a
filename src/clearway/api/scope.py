"""Which declaration a declaration id means to the caller.

Declaration ids are the filer's own: two filers may use the same one. A
request names a declaration by its id and, where that is ambiguous, the
filer (``?filer=``). Only declarations within the caller's scope in the
sharing policy take part, so a filer reusing another's id never makes that
id ambiguous to (or blocks) an agency it is not routed to, and an error
never names a filer the caller may not see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from clearway.errors import ErrorDetail, InputError, NotFound
from clearway.federation.policy import Caller, Policy
from clearway.store.reading import declaration_holders, master_filers

__all__ = ["foreign_masters", "resolve_filer"]


def resolve_filer(
    store: Engine, policy: Policy, caller: Caller, ref: str, filer: str | None = None
) -> str:
    """The filer whose declaration ``ref`` the caller means: 404 when none
    in its scope has that id (the same answer as for one that does not
    exist), 400 naming the ``filer`` parameter when several do."""
    holders = declaration_holders(store, ref)
    if policy.scope(caller) == "filed":
        # A filer always means its own declaration.
        filer = caller.filer_id if filer in (None, caller.filer_id) else "\x00"
    visible = sorted(
        holder
        for holder, agencies in holders.items()
        if (filer is None or holder == filer) and policy.can_see(caller, holder, agencies)
    )
    if not visible:
        raise NotFound(f"declaration {ref!r} not found.")
    if len(visible) > 1:
        # Filer ids only for a role that reads them in the declarations
        # themselves; all of these are within its scope.
        named = f" ({', '.join(visible)})" if policy.may_read(caller, "declaration.filer") else ""
        message = (
            f"declaration {ref!r} was filed by {len(visible)} filers{named}; "
            "name one with ?filer=<filer id>"
        )
        raise InputError(message, details=[ErrorDetail("filer", "ambiguous_declaration", message)])
    return visible[0]


def foreign_masters(
    store: Engine, documents: list[Any], filer_id: str | None
) -> dict[int, dict[str, Any]]:
    """The refusal, by position (from 1), of each master document whose
    master reference is already filed by another filer: a carrier's master
    cannot be replaced, or its houses claimed, under someone else's name.
    The other filer is not named."""
    positions = {
        position: document["master_ref"]
        for position, document in enumerate(documents, start=1)
        if isinstance(document, dict)
        and document.get("kind") == "master"
        and isinstance(document.get("master_ref"), str)
    }
    if not positions:
        return {}
    holders = master_filers(store, set(positions.values()))
    refused: dict[int, dict[str, Any]] = {}
    for position, ref in positions.items():
        if holders.get(ref, set()) - {filer_id}:
            detail = ErrorDetail(
                "master_ref",
                "master_ref_taken",
                f"master reference {ref!r} is filed by another carrier; "
                "file masters under your own master references",
            )
            refused[position] = {
                "position": position,
                "declaration_id": ref,
                "errors": [detail.as_dict()],
            }
    return refused
