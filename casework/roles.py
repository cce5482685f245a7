"""The three roles of an agency's staff, as Django groups with their permissions.

A migration creates them on every node; ``ensure_roles()`` re-creates them after a database was
emptied (the demo's seed, tests that flush).
"""

from __future__ import annotations

CASEWORKERS = "Caseworkers"
SUPERVISORS = "Supervisors"
AGENCY_ADMINS = "Agency administrators"

CASEWORKER_PERMISSIONS = [
    ("disputes", "handle_dispute"),
    ("disputes", "view_dispute"),
    ("disputes", "view_evidence"),
    ("disputes", "view_message"),
    ("disputes", "view_timelineevent"),
    ("agencies", "view_agency"),
    ("agencies", "view_mou"),
]
SUPERVISOR_PERMISSIONS = [
    *CASEWORKER_PERMISSIONS,
    ("casework", "assign_dispute"),
    ("casework", "see_agency_queue"),
    ("casework", "approve_referral"),
    ("audit", "view_access_history"),
]
AGENCY_ADMIN_PERMISSIONS = [
    *SUPERVISOR_PERMISSIONS,
    ("auth", "view_user"),
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("casework", "view_staffmember"),
    ("casework", "add_staffmember"),
    ("casework", "change_staffmember"),
]
ROLES = {
    CASEWORKERS: CASEWORKER_PERMISSIONS,
    SUPERVISORS: SUPERVISOR_PERMISSIONS,
    AGENCY_ADMINS: AGENCY_ADMIN_PERMISSIONS,
}


def ensure_roles(group_model=None, permission_model=None) -> None:
    """Create the groups and give them their permissions; safe to run again."""
    if group_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    for name, permissions in ROLES.items():
        group, _created = group_model.objects.get_or_create(name=name)
        group.permissions.add(
            *(
                permission_model.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in permissions
            )
        )
