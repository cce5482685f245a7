"""Django's model backend, loading a signed-in user with what every staff request checks, in one
query: their agency membership (selectors.works_here) and whether their role signs in with a
second factor (accounts.selectors.requires_two_factor, which reads the answer kept here); and
their permissions, their own and their groups', in one query where Django makes two."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q

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

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            }
        return user_obj._perm_cache
