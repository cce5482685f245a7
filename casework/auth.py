"""Django's model backend, loading a signed-in user with their agency membership in one query:
every casework request checks it (selectors.works_here)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = (
                get_user_model()._default_manager.select_related("staff_membership").get(pk=user_id)
            )
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
