"""Relay services. Filled in by the relay issue: see docs/protocol.md."""

from __future__ import annotations


def on_timeline_event(event) -> None:
    """Called inside the transaction that wrote ``event``; writes an outgoing packet if shared."""
    return None
