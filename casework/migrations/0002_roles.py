"""The three roles of an agency's staff: Caseworkers, Supervisors, Agency administrators."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from agencies.roles import GROUPS, ensure_roles

# Roles as this migration first created them; later permissions come in later migrations.
LATER = {("casework", "approve_referral")}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), leave_out=LATER
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS.values())).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("audit", "0001_initial"),
        ("disputes", "0001_initial"),
        ("agencies", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
