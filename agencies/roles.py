"""The staff roles of a node, as Django groups with their permissions, defined in one place.

A caseworker handles disputes; a supervisor also assigns cases, sees the whole agency's queue,
approves referrals and sees who read a case; an agency admin also runs the node (partners, keys,
MoUs, staff accounts, API clients). Supervisors and agency admins must sign in with a second
factor. Code names a role by its key (``CASEWORKER`` ...), stored on invitations and given on
the command line; ``GROUPS`` names the group that holds it. Permissions of apps above this one
are named as strings, so this module imports none of them.
"""

from __future__ import annotations

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
GROUPS = {
    CASEWORKER: "Caseworkers",
    SUPERVISOR: "Supervisors",
    AGENCY_ADMIN: "Agency administrators",
}
# Roles whose members must confirm a one-time code from an authenticator app at every sign-in.
TWO_FACTOR_ROLES = (SUPERVISOR, AGENCY_ADMIN)

_CASEWORK = [
    ("disputes", "handle_dispute"),
    ("disputes", "view_dispute"),
    ("disputes", "view_evidence"),
    ("disputes", "view_message"),
    ("disputes", "view_timelineevent"),
    ("agencies", "view_agency"),
    ("agencies", "view_mou"),
]
_SUPERVISION = [
    ("casework", "assign_dispute"),
    ("casework", "see_agency_queue"),
    ("casework", "approve_referral"),
    ("audit", "view_access_history"),
    ("enforcement", "approve_enforcement_referral"),
    ("figures", "view_statistics"),
]
_ADMINISTRATION = [
    ("auth", "view_user"),
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("casework", "view_staffmember"),
    ("casework", "add_staffmember"),
    ("casework", "change_staffmember"),
]
# An agency admin keeps the node's partners, keys, MoUs, packets, accounts and API clients:
# every permission of these apps.
_ADMINISTERED_APPS = ("agencies", "relay", "accounts", "api")

PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    CASEWORKER: _CASEWORK,
    SUPERVISOR: [*_CASEWORK, *_SUPERVISION],
    AGENCY_ADMIN: [*_CASEWORK, *_SUPERVISION, *_ADMINISTRATION],
}


def group_names(roles=ROLES) -> list[str]:
    return [GROUPS[role] for role in roles]


def ensure_roles(group_model=None, permission_model=None, *, leave_out=frozenset()) -> None:
    """Create the role groups and give them their permissions; safe to run again.

    Migrations pass their historical models and may ``leave_out`` permissions that a later
    migration creates; permissions that do not exist yet are skipped.
    """
    from django.db.models import Q

    if group_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for role in ROLES:
        group, _created = group_model.objects.get_or_create(name=GROUPS[role])
        wanted = Q(pk__in=[])
        for app_label, codename in PERMISSIONS[role]:
            if (app_label, codename) not in leave_out:
                wanted |= Q(content_type__app_label=app_label, codename=codename)
        if role == AGENCY_ADMIN:
            wanted |= Q(content_type__app_label__in=_ADMINISTERED_APPS)
        group.permissions.add(*permission_model.objects.filter(wanted))


def get_or_create(role: str):
    """The group of a role, with its permissions."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    group = Group.objects.filter(name=GROUPS[role]).first()
    if group is None:
        ensure_roles()
        group = Group.objects.get(name=GROUPS[role])
    return group


def roles_of(user) -> set[str]:
    names = set(user.groups.filter(name__in=group_names()).values_list("name", flat=True))
    return {role for role in ROLES if GROUPS[role] in names}
