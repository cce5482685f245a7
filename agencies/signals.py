"""Signals of the agencies app, for the apps above it (the relay tells the partner)."""

from django.dispatch import Signal

# Sent inside the transaction that changed an MoU's status: mou=, reason=.
mou_status_changed = Signal()
