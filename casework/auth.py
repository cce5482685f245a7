"""Django's model backend, loading a signed-in user with what every staff request checks, in one
query: their agency membership (selectors.works_here) and whether their role signs in with a
second factor (accounts.selectors.requires_two_factor, which reads the answer kept here)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef

from agencies import roles


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        second_factor_roles = Group.objects.filter(
            user=OuterRef("pk"), name__in=roles.group_names(roles.TWO_FACTOR_ROLES)
        )
        try:
            user = (
                get_user_model()
                ._default_manager.select_related("staff_membership")
                .annotate(needs_second_factor=Exists(second_factor_roles))
                .get(pk=user_id)
            )
        except get_user_model().DoesNotExist:
            return None
        user._odr_requires_two_factor = user.needs_second_factor
        return user if self.user_can_authenticate(user) else None
