from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import services


@receiver(user_logged_in, dispatch_uid="accounts.record_staff_session")
def record_staff_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        services.record_session(user, request.session)


@receiver(post_save, sender=get_user_model(), dispatch_uid="accounts.end_sessions_of_inactive")
def end_sessions_of_inactive(sender, instance, **kwargs):
    """However an account is deactivated (admin form, shell, service), its sessions end."""
    if not instance.is_active:
        services.end_sessions(instance)
