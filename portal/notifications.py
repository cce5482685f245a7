"""Consumer notifications for timeline events."""

from __future__ import annotations


def on_timeline_event(event) -> None:
    """Called inside the transaction that wrote ``event``; queues the consumer's email."""
    return None
