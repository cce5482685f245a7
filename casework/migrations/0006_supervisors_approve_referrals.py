from django.contrib.auth.management import create_permissions
from django.db import migrations

APPROVERS = ("Supervisors", "Agency administrators")


def grant(apps, schema_editor):
    config = apps.get_app_config("casework")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="casework", codename="approve_referral")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=APPROVERS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(codename="approve_referral"):
        permission.group_set.clear()


class Migration(migrations.Migration):
    dependencies = [("casework", "0005_referral_requests")]

    operations = [migrations.RunPython(grant, revoke)]
