"""Every change to a dispute writes a timeline event in the same transaction; each is logged."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from disputes.models import TimelineEvent

from .services import record_change


@receiver(post_save, sender=TimelineEvent, dispatch_uid="audit_timeline_change")
def log_change(sender, instance: TimelineEvent, created: bool, raw: bool = False, **kwargs):
    if not created or raw:
        return
    who = instance.user or instance.actor_name or instance.actor
    what = instance.kind
    if instance.to_status:
        what = f"{instance.kind}: {instance.from_status or '-'} → {instance.to_status}"
    record_change(who, instance.dispute, what)
