"""System checks: configuration mistakes the plugin would otherwise hide."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from . import conf
from .targeting import fields

RULES_BACKEND = "rules.permissions.ObjectPermissionBackend"
FINISH_WORKFLOW_ACTION = "interaction.workflows.publish_approved"
VISITOR_MIDDLEWARE = "interaction.middleware.VisitorMiddleware"


@register("interaction")
def check_settings(app_configs=None, **kwargs):
    problems: list[CheckMessage] = []
    if RULES_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        problems.append(
            Error(
                f"{RULES_BACKEND} is not in AUTHENTICATION_BACKENDS.",
                hint="Without it nobody but superusers can act on an environment's "
                "objects: add it before ModelBackend.",
                id="interaction.E001",
            )
        )
    if getattr(settings, "WAGTAIL_FINISH_WORKFLOW_ACTION", "") != (
        FINISH_WORKFLOW_ACTION
    ):
        problems.append(
            Error(
                f"WAGTAIL_FINISH_WORKFLOW_ACTION is not “{FINISH_WORKFLOW_ACTION}”.",
                hint="Offer approvers hold no publish permission: without it their "
                "final approval cannot publish the offer.",
                id="interaction.E004",
            )
        )
    resolver = conf.contact_resolver()
    if resolver:
        try:
            import_string(resolver)
        except ImportError as error:
            problems.append(
                Error(
                    f"INTERACTION_CONTACT_RESOLVER “{resolver}” cannot be imported: "
                    f"{error}",
                    id="interaction.E002",
                )
            )
    problems += _dimension_problems()
    interval = conf.version_check_seconds()
    if not 0 <= interval <= 60:
        problems.append(
            Warning(
                f"INTERACTION_VERSION_CHECK_SECONDS is {interval:g}.",
                hint="Other processes serve a catalogue change only after this "
                "interval: keep it between 0 and 60 seconds (default 1).",
                id="interaction.W002",
            )
        )
    if hasattr(settings, "INTERACTION_CACHE"):
        problems.append(
            Warning(
                "INTERACTION_CACHE is no longer used.",
                hint="Catalogue changes reach every process through the database "
                "(see INTERACTION_VERSION_CHECK_SECONDS); remove the setting.",
                id="interaction.W003",
            )
        )
    problems += _task_problems()
    if VISITOR_MIDDLEWARE not in settings.MIDDLEWARE:
        problems.append(
            Warning(
                f"{VISITOR_MIDDLEWARE} is not in MIDDLEWARE.",
                hint="Anonymous visitors then get no id on server-rendered pages, "
                "so typology rules cannot count their history.",
                id="interaction.W001",
            )
        )
    return problems


def _task_problems() -> list[CheckMessage]:
    """Campaign runs need the ``batch`` task backend taking queue ``interaction``."""
    backend = getattr(settings, "TASKS", {}).get("batch")
    if backend is not None and "interaction" in backend.get("QUEUES", ["default"]):
        return []
    return [
        Error(
            "TASKS has no “batch” backend taking the queue “interaction”: "
            "campaigns cannot run.",
            hint='Add TASKS["batch"] = {"BACKEND": '
            '"django_tasks_db.DatabaseBackend", "QUEUES": ["default", '
            '"interaction"]} and "django_tasks_db" to INSTALLED_APPS (see the '
            "README), and start workers: manage.py db_worker --backend batch "
            "--queue-name interaction.",
            id="interaction.E005",
        )
    ]


def _dimension_problems() -> list[CheckMessage]:
    """What ``INTERACTION_DIMENSIONS`` names that cannot be targeted (dropped)."""
    problems: list[CheckMessage] = []
    for label, names in (conf.dimensions() or {}).items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            problems.append(
                Error(
                    f"INTERACTION_DIMENSIONS names “{label}”, which is not an "
                    "installed model (use “app_label.model_name”).",
                    id="interaction.E003",
                )
            )
            continue
        if fields.is_internal(model):
            problems.append(
                Error(
                    f"INTERACTION_DIMENSIONS names “{label}”, which cannot be a "
                    "targeting dimension: Wagtail pages and framework internals "
                    "never are.",
                    hint="Remove it: it is not offered as a dimension.",
                    id="interaction.E010",
                )
            )
            continue
        default_fields = fields.model_fields(model)
        for name in names or ():
            if fields.is_denied(name):
                problems.append(
                    Error(
                        f"INTERACTION_DIMENSIONS names “{label}.{name}”: "
                        "credentials and privileges are never targetable.",
                        hint="Remove it: conditions, formulas and rendering "
                        "cannot read it.",
                        id="interaction.E011",
                    )
                )
            elif name not in default_fields:
                problems.append(
                    Error(
                        f"INTERACTION_DIMENSIONS names “{label}.{name}”, which is "
                        "not a field conditions can compare.",
                        hint="Known fields: "
                        + ", ".join(sorted(default_fields))
                        + ". Related fields are written “relation__field”, one "
                        "level deep, into models that are not framework internals.",
                        id="interaction.E012",
                    )
                )
    return problems
