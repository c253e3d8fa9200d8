"""System checks: configuration mistakes the plugin would otherwise hide."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from . import conf

RULES_BACKEND = "rules.permissions.ObjectPermissionBackend"
VISITOR_MIDDLEWARE = "interaction.middleware.VisitorMiddleware"


@register()
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
    for label in conf.dimensions() or ():
        try:
            apps.get_model(label)
        except (LookupError, ValueError):
            problems.append(
                Error(
                    f"INTERACTION_DIMENSIONS names “{label}”, which is not an "
                    "installed model (use “app_label.model_name”).",
                    id="interaction.E003",
                )
            )
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
