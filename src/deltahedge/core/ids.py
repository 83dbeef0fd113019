"""Identifiers. Client order ids derive from the intent id, so a resubmission is idempotent."""

from __future__ import annotations

import hashlib
import uuid


def new_id(prefix: str = "") -> str:
    """A fresh random id, optionally prefixed (``"int-3f2a..."``)."""
    raw = uuid.uuid4().hex[:20]
    return f"{prefix}-{raw}" if prefix else raw


def client_order_id(intent_id: str, leg: int = 0, attempt: int = 0) -> str:
    """The client order id of leg ``leg`` of an intent (deterministic, <= 32 characters).

    The same ``(intent_id, leg, attempt)`` always gives the same id, so a restart can ask a
    venue what became of an order, and a resend is recognised as the same order.
    """
    digest = hashlib.sha256(f"{intent_id}|{leg}|{attempt}".encode()).hexdigest()[:24]
    return f"dh{digest}"


__all__ = ["client_order_id", "new_id"]
