import uuid

import django.core.serializers.json
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


#: Approvers approve in the workflow, which publishes for them: they lose
#: the publish permission (frozen here; see interaction.roles).
APPROVERS = "Offer approvers"
WORKFLOW_MODELS = ("offer", "offercategory", "offerspace")


def approvers_do_not_publish(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=APPROVERS).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="interaction",
                codename__in=[f"publish_{model}" for model in WORKFLOW_MODELS],
            )
        )


WORKFLOW_NAME = "Offer approval"


def approve_by_environment(apps, schema_editor):
    """The "Offer approval" workflow's group approval task becomes an
    environment approval task with the same groups; tasks in progress follow."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    TaskState = apps.get_model("wagtailcore", "TaskState")
    EnvironmentApprovalTask = apps.get_model("interaction", "EnvironmentApprovalTask")
    task_type, _created = ContentType.objects.get_or_create(
        app_label="interaction", model="environmentapprovaltask"
    )
    workflow = Workflow.objects.filter(name=WORKFLOW_NAME).first()
    if workflow is None:
        return
    for step in WorkflowTask.objects.filter(workflow=workflow):
        old = GroupApprovalTask.objects.filter(pk=step.task_id).first()
        if old is None:
            continue
        new = EnvironmentApprovalTask.objects.create(
            name=old.name, content_type=task_type, active=True
        )
        new.groups.set(old.groups.all())
        TaskState.objects.filter(task_id=old.pk).update(task_id=new.pk)
        step.task_id = new.pk
        step.save(update_fields=["task"])
        old.active = False
        old.save(update_fields=["active"])


#: Catalogue models whose audit log moves to InteractionLogEntry (frozen).
LOGGED_MODELS = ("environment", "offer", "offercategory", "offerspace", "typologyrule")


def move_the_catalogue_log(apps, schema_editor):
    """Existing log entries of catalogue objects move to the scoped log, with the
    environment of their object (none when the object is gone)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ModelLogEntry = apps.get_model("wagtailcore", "ModelLogEntry")
    InteractionLogEntry = apps.get_model("interaction", "InteractionLogEntry")
    for model_name in LOGGED_MODELS:
        content_type = ContentType.objects.filter(
            app_label="interaction", model=model_name
        ).first()
        if content_type is None:
            continue
        model = apps.get_model("interaction", model_name)
        if model_name == "environment":
            environments = {str(pk): pk for pk in model.objects.values_list("pk", flat=True)}
        else:
            environments = {
                str(pk): environment_id
                for pk, environment_id in model.objects.values_list(
                    "pk", "environment_id"
                )
            }
        entries = ModelLogEntry.objects.filter(content_type=content_type)
        InteractionLogEntry.objects.bulk_create(
            InteractionLogEntry(
                content_type_id=entry.content_type_id,
                label=entry.label,
                action=entry.action,
                data=entry.data,
                timestamp=entry.timestamp,
                uuid=entry.uuid,
                user_id=entry.user_id,
                revision_id=entry.revision_id,
                content_changed=entry.content_changed,
                deleted=entry.deleted,
                object_id=entry.object_id,
                environment_id=environments.get(entry.object_id),
            )
            for entry in entries.iterator()
        )
        entries.delete()


def approve_by_group(apps, schema_editor):
    """Reverse: the workflow goes back to its group approval task."""
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    TaskState = apps.get_model("wagtailcore", "TaskState")
    EnvironmentApprovalTask = apps.get_model("interaction", "EnvironmentApprovalTask")
    workflow = Workflow.objects.filter(name=WORKFLOW_NAME).first()
    if workflow is None:
        return
    for step in WorkflowTask.objects.filter(workflow=workflow):
        new = EnvironmentApprovalTask.objects.filter(pk=step.task_id).first()
        old = GroupApprovalTask.objects.filter(name=getattr(new, "name", None)).first()
        if new is None or old is None:
            continue
        TaskState.objects.filter(task_id=new.pk).update(task_id=old.pk)
        step.task_id = old.pk
        step.save(update_fields=["task"])
        old.active = True
        old.save(update_fields=["active"])
        new.delete()


def create_the_row(apps, schema_editor):
    CatalogueVersion = apps.get_model("interaction", "CatalogueVersion")
    CatalogueVersion.objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("interaction", "0005_apikey"),
        ("wagtailcore", "0098_apitoken"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogueVersion",
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
                ("token", models.CharField(max_length=32, verbose_name="token")),
                (
                    "changed_at",
                    models.DateTimeField(auto_now=True, verbose_name="changed at"),
                ),
            ],
            options={"verbose_name": "catalogue version"},
        ),
        migrations.CreateModel(
            name="EnvironmentApprovalTask",
            fields=[
                (
                    "task_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        serialize=False,
                        to="wagtailcore.task",
                    ),
                ),
                (
                    "groups",
                    models.ManyToManyField(
                        help_text="Pages/snippets at this step in a workflow will "
                        "be moderated or approved by these groups of users",
                        to="auth.group",
                        verbose_name="groups",
                    ),
                ),
            ],
            options={
                "verbose_name": "environment approval task",
                "verbose_name_plural": "environment approval tasks",
            },
            bases=("wagtailcore.task",),
        ),
        migrations.CreateModel(
            name="InteractionLogEntry",
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
                ("label", models.TextField()),
                (
                    "action",
                    models.CharField(blank=True, db_index=True, max_length=255),
                ),
                (
                    "data",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        encoder=django.core.serializers.json.DjangoJSONEncoder,
                    ),
                ),
                (
                    "timestamp",
                    models.DateTimeField(db_index=True, verbose_name="timestamp (UTC)"),
                ),
                (
                    "uuid",
                    models.UUIDField(
                        blank=True,
                        editable=False,
                        help_text="Log entries that happened as part of the same "
                        "user action are assigned the same UUID",
                        null=True,
                    ),
                ),
                ("content_changed", models.BooleanField(db_index=True, default=False)),
                ("deleted", models.BooleanField(default=False)),
                ("object_id", models.CharField(db_index=True, max_length=255)),
                (
                    "content_type",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="contenttypes.contenttype",
                        verbose_name="content type",
                    ),
                ),
                (
                    "environment",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="interaction.environment",
                        verbose_name="environment",
                    ),
                ),
                (
                    "revision",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="wagtailcore.revision",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "catalogue log entry",
                "verbose_name_plural": "catalogue log entries",
                "ordering": ["-timestamp", "-id"],
                "abstract": False,
                "indexes": [
                    models.Index(
                        fields=["uuid", "action", "-timestamp"],
                        name="interaction_uuid_a1e571_idx",
                    )
                ],
            },
        ),
        migrations.RunPython(move_the_catalogue_log, migrations.RunPython.noop),
        migrations.RunPython(create_the_row, migrations.RunPython.noop),
        migrations.RunPython(approve_by_environment, approve_by_group),
        migrations.RunPython(approvers_do_not_publish, migrations.RunPython.noop),
    ]
