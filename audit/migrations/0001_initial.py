from django.db import migrations, models

REFUSE = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_refuse_change();
"""


def refuse_update_and_delete(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE, params=None)


def allow_update_and_delete(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(verbose_name="when")),
                ("actor", models.CharField(max_length=200, verbose_name="who")),
                ("user_id_at_time", models.IntegerField(blank=True, null=True, verbose_name="user id")),
                ("action", models.CharField(choices=[("read", "Read"), ("change", "Changed")], max_length=10, verbose_name="what")),
                ("object_type", models.CharField(max_length=40, verbose_name="object type")),
                ("object_id", models.CharField(max_length=40, verbose_name="object id")),
                ("object_ref", models.CharField(blank=True, max_length=60, verbose_name="object")),
                ("detail", models.CharField(blank=True, max_length=500, verbose_name="details")),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
                "ordering": ["pk"],
                "default_permissions": ("view",),
                "permissions": [("view_access_history", "Can see who read or changed a case")],
                "indexes": [models.Index(fields=["object_type", "object_id"], name="audit_audit_object__3eefc4_idx")],
            },
        ),
        migrations.RunPython(refuse_update_and_delete, allow_update_and_delete),
    ]
