"""API keys, managed by Interaction administrators.

The data step is a frozen copy of what ``interaction/roles.py`` grants for the
new model (a migration never calls live application code): it creates the
``apikey`` permissions (on a fresh database Django creates them only after
every migration) and gives them to the "Interaction administrators" group.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ADMINISTRATORS = "Interaction administrators"
ACTIONS = {
    "add": "Can add",
    "change": "Can change",
    "delete": "Can delete",
    "view": "Can view",
}


def grant_api_key_permissions(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _created = ContentType.objects.get_or_create(
        app_label="interaction", model="apikey"
    )
    permissions = [
        Permission.objects.get_or_create(
            content_type=content_type,
            codename=f"{action}_apikey",
            defaults={"name": f"{name} API key"},
        )[0]
        for action, name in ACTIONS.items()
    ]
    group, _created = Group.objects.get_or_create(name=ADMINISTRATORS)
    group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("interaction", "0004_one_word_per_concept"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "label",
                    models.CharField(
                        help_text="Who or what uses this key.",
                        max_length=255,
                        verbose_name="label",
                    ),
                ),
                (
                    "prefix",
                    models.CharField(
                        editable=False,
                        max_length=8,
                        unique=True,
                        verbose_name="key prefix",
                    ),
                ),
                (
                    "hashed_key",
                    models.CharField(
                        editable=False, max_length=64, verbose_name="hashed key"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                ),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True,
                        editable=False,
                        null=True,
                        verbose_name="last used at",
                    ),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(
                        blank=True,
                        editable=False,
                        null=True,
                        verbose_name="revoked at",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
                (
                    "environments",
                    models.ManyToManyField(
                        help_text=(
                            "The key may set the contact date and storage of calls "
                            "to spaces of these environments."
                        ),
                        related_name="api_keys",
                        to="interaction.environment",
                        verbose_name="environments",
                    ),
                ),
            ],
            options={
                "verbose_name": "API key",
                "verbose_name_plural": "API keys",
                "ordering": ["-created_at"],
            },
        ),
        migrations.RunPython(grant_api_key_permissions, migrations.RunPython.noop),
    ]
