"""The staff roles of a node, as Django groups, named in one place.

A caseworker handles disputes; a supervisor also oversees the team's queue; an agency admin also
runs the node (partners, keys, MoUs, staff accounts). Supervisors and agency admins must sign in
with a second factor. Code refers to a role only through these names.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CASEWORKER = "caseworker"
SUPERVISOR = "supervisor"
AGENCY_ADMIN = "agency_admin"

ROLES = (CASEWORKER, SUPERVISOR, AGENCY_ADMIN)
ROLE_CHOICES = [
    (CASEWORKER, _("Caseworker")),
    (SUPERVISOR, _("Supervisor")),
    (AGENCY_ADMIN, _("Agency administrator")),
]
# Roles whose members must confirm a one-time code from an authenticator app at every sign-in.
TWO_FACTOR_ROLES = (SUPERVISOR, AGENCY_ADMIN)

# Every role works cases; an agency admin also keeps the node's partners, keys and accounts.
_CASEWORK = [
    ("disputes", "handle_dispute"),
    ("disputes", "view_dispute"),
    ("disputes", "view_evidence"),
    ("disputes", "view_message"),
    ("disputes", "view_timelineevent"),
    ("agencies", "view_agency"),
    ("agencies", "view_mou"),
]
_ADMIN_APPS = ("agencies", "relay", "accounts", "api")


def _permissions(role: str) -> list[Permission]:
    query = Q()
    for app_label, codename in _CASEWORK:
        query |= Q(content_type__app_label=app_label, codename=codename)
    if role == AGENCY_ADMIN:
        query |= Q(content_type__app_label__in=_ADMIN_APPS)
        query |= Q(content_type__app_label="auth", codename__in=["view_user", "change_user"])
    return list(Permission.objects.filter(query))


def get_or_create(role: str) -> Group:
    """The group of a role; a group made here starts with the role's permissions."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    group, created = Group.objects.get_or_create(name=role)
    if created:
        group.permissions.set(_permissions(role))
    return group


def roles_of(user) -> set[str]:
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
