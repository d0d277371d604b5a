"""The sealed secrets of the store (webhook subscriptions, inbox senders),
rewritten together: sealing the ones an older version kept in clear, or
re-sealing all of them under a new key. The store moves text; the caller
seals (see :mod:`clearway.federation.sealing`)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select, update

from clearway.store.engine import writing
from clearway.store.inbox import sender_context
from clearway.store.schema import inbound_senders, webhook_subscriptions
from clearway.store.webhooks import subscription_context

__all__ = ["reseal_secrets"]


def reseal_secrets(engine: Engine, rewrite: Callable[[str, str], str | None]) -> int:
    """Call ``rewrite(stored, context)`` for every stored secret and keep
    what it returns (None: leave the row as it is), in one transaction: a
    failure leaves every secret as it was. Returns the rows rewritten."""
    changed = 0
    with writing(engine).begin() as conn:
        for row in conn.execute(select(webhook_subscriptions.c.id, webhook_subscriptions.c.secret)):
            new = rewrite(row.secret, subscription_context(row.id))
            if new is not None:
                conn.execute(
                    update(webhook_subscriptions)
                    .where(webhook_subscriptions.c.id == row.id)
                    .values(secret=new)
                )
                changed += 1
        for row in conn.execute(select(inbound_senders.c.name, inbound_senders.c.secret)):
            new = rewrite(row.secret, sender_context(row.name))
            if new is not None:
                conn.execute(
                    update(inbound_senders)
                    .where(inbound_senders.c.name == row.name)
                    .values(secret=new)
                )
                changed += 1
    return changed
