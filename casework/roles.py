"""The groups of the staff roles casework checks (defined in agencies/roles.py)."""

from agencies.roles import AGENCY_ADMIN, CASEWORKER, GROUPS, SUPERVISOR, ensure_roles

CASEWORKERS = GROUPS[CASEWORKER]
SUPERVISORS = GROUPS[SUPERVISOR]
AGENCY_ADMINS = GROUPS[AGENCY_ADMIN]

__all__ = ["AGENCY_ADMINS", "CASEWORKERS", "SUPERVISORS", "ensure_roles"]
