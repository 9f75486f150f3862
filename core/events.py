"""A tiny, explicit in-process domain-event registry.

Lower apps publish; higher apps subscribe in their AppConfig.ready(), so the
dependency direction stays one way. Two kinds of subscriber:

- ``on_commit`` (the default): runs after the publishing transaction commits,
  for side effects that must not happen if the write rolls back (mail, cache).
- ``in_transaction``: runs inside the publishing transaction, for rows that must
  exist atomically with the change (an escalation row for a declared incident),
  so a crash between commit and delivery cannot lose them.

Every subscription is listed by ``subscriptions()`` so it is greppable and testable.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[Any], None]


@dataclass(frozen=True)
class _Subscription:
    handler: Handler
    in_transaction: bool


_registry: dict[type, list[_Subscription]] = defaultdict(list)


def subscribe(event_type: type, handler: Handler, *, in_transaction: bool = False) -> None:
    subs = _registry[event_type]
    if any(s.handler is handler for s in subs):
        return  # ready() may run twice in some test runners
    subs.append(_Subscription(handler, in_transaction))


def subscriptions() -> dict[type, list[str]]:
    return {
        et: [f"{s.handler.__module__}.{s.handler.__qualname__}" + (" [in transaction]" if s.in_transaction else "") for s in subs]
        for et, subs in _registry.items()
    }


def publish(event: Any) -> None:
    for sub in list(_registry.get(type(event), ())):
        if sub.in_transaction:
            sub.handler(event)
        else:
            transaction.on_commit(_deliver(sub.handler, event), robust=True)


def _deliver(handler: Handler, event: Any) -> Callable[[], None]:
    def run() -> None:
        handler(event)

    return run
