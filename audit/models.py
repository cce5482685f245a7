"""The append-only, hash-chained record of who read or changed a dispute's personal data."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One read or change. ``hash`` is the SHA-256 of this entry's fields and ``prev_hash``.

    Rows are never updated or deleted (on PostgreSQL a trigger refuses both), and the user is
    kept as an id and a name rather than a foreign key, so deleting a user changes no entry.
    """

    class Action(models.TextChoices):
        READ = "read", _("Read")
        CHANGE = "change", _("Changed")

    at = models.DateTimeField(_("when"))
    actor = models.CharField(_("who"), max_length=200)
    user_id_at_time = models.IntegerField(_("user id"), null=True, blank=True)
    action = models.CharField(_("what"), max_length=10, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(_("object id"), max_length=40)
    # The dispute's reference, blank while a new dispute is not numbered yet.
    object_ref = models.CharField(_("object"), max_length=60, blank=True)
    detail = models.CharField(_("details"), max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["pk"]
        default_permissions = ("view",)
        permissions = [("view_access_history", _("Can see who read or changed a case"))]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"
