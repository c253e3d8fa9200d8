"""The four roles of SPEC §1, the "Offer approval" workflow, and who works on
campaign pages.

One table, used by the data migration and by ``manage.py interaction_sync_roles``.
Both call :func:`sync_roles` with an app registry (historical in migrations), so
it creates the content types and permissions it needs itself: on a fresh
database Django and Wagtail only create them after every migration has run.
"""

ADMINISTRATORS = "Interaction administrators"
OFFER_MANAGERS = "Offer managers"
OFFER_APPROVERS = "Offer approvers"
DELIVERY_MANAGERS = "Delivery managers"

WORKFLOW_NAME = "Offer approval"
WORKFLOW_MODELS = ("offer", "offercategory", "offerspace")

#: Campaign pages (SPEC §6): the groups that work on them, with these page
#: permissions on the campaigns index, and so on every campaign below it.
CAMPAIGN_ROLES = (DELIVERY_MANAGERS, ADMINISTRATORS)
CAMPAIGN_PAGE_PERMISSIONS = ("add", "change", "publish", "lock", "unlock")

_ALL = ("add", "change", "delete", "view", "publish", "lock", "unlock")
_EDIT = ("add", "change", "delete", "view", "lock", "unlock")
_VIEW = ("view",)
#: Approvers approve in the workflow, which publishes for them
#: (:mod:`interaction.workflows`): no publish permission of their own.
_APPROVE = ("view",)

#: Per role: model -> actions on the interaction models.
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    ADMINISTRATORS: {
        "environment": ("add", "change", "delete", "view"),
        "typologyrule": ("add", "change", "delete", "view"),
        "offerspace": _ALL,
        "offercategory": _ALL,
        "offer": _ALL,
        "proposition": _VIEW,
        "apikey": ("add", "change", "delete", "view"),
    },
    OFFER_MANAGERS: {
        "environment": _VIEW,
        "typologyrule": _VIEW,
        "offerspace": _VIEW,
        "offercategory": _EDIT,
        "offer": _EDIT,
    },
    OFFER_APPROVERS: {
        "environment": _VIEW,
        "typologyrule": _VIEW,
        "offerspace": _APPROVE,
        "offercategory": _APPROVE,
        "offer": _APPROVE,
    },
    DELIVERY_MANAGERS: {
        "environment": _VIEW,
        "typologyrule": _VIEW,
        "offerspace": _VIEW,
        "offercategory": _VIEW,
        "offer": _VIEW,
        "proposition": _VIEW,
    },
}

#: Permissions outside this app: (app_label, model, codename) per role.
EXTRA_PERMISSIONS = {
    ADMINISTRATORS: [
        ("wagtailcore", "workflow", "add_workflow"),
        ("wagtailcore", "workflow", "change_workflow"),
        ("wagtailcore", "workflow", "delete_workflow"),
        ("wagtailcore", "task", "add_task"),
        ("wagtailcore", "task", "change_task"),
        ("wagtailcore", "task", "delete_task"),
        ("wagtailimages", "image", "add_image"),
        ("wagtailimages", "image", "choose_image"),
    ],
    OFFER_MANAGERS: [
        ("wagtailimages", "image", "add_image"),
        ("wagtailimages", "image", "choose_image"),
    ],
    OFFER_APPROVERS: [("wagtailimages", "image", "choose_image")],
    DELIVERY_MANAGERS: [],
}

_ACTION_NAMES = {
    "add": "Can add",
    "change": "Can change",
    "delete": "Can delete",
    "view": "Can view",
    "publish": "Can publish",
    "lock": "Can lock",
    "unlock": "Can unlock",
}


def _permission(apps, app_label, model, codename, name=None):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _created = ContentType.objects.get_or_create(
        app_label=app_label, model=model
    )
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": name or codename.replace("_", " ").capitalize()},
    )
    return permission


def sync_roles(apps) -> None:
    """Create or update the four groups and the approval workflow. Idempotent."""
    Group = apps.get_model("auth", "Group")
    groups = {}
    for role, models in ROLES.items():
        group, _created = Group.objects.get_or_create(name=role)
        groups[role] = group
        permissions = [
            _permission(
                apps,
                "interaction",
                model,
                f"{action}_{model}",
                f"{_ACTION_NAMES[action]} {model}",
            )
            for model, actions in models.items()
            for action in actions
        ]
        permissions += [_permission(apps, *extra) for extra in EXTRA_PERMISSIONS[role]]
        permissions.append(
            _permission(
                apps,
                "wagtailadmin",
                "admin",
                "access_admin",
                "Can access Wagtail admin",
            )
        )
        group.permissions.add(*permissions)
    _sync_workflow(apps, groups[OFFER_APPROVERS])
    sync_campaign_permissions(apps)


def sync_campaign_permissions(apps) -> None:
    """The campaign roles may add, edit and publish under every campaigns
    index; no other group's grant on the root reaches it. Idempotent.

    Wagtail's page permissions hold on a page and everything below it, with
    no "deny": a grant on the root (Wagtail's default *Editors* and
    *Moderators* hold one) would let its group edit every campaign. Such
    grants move down to the root's other children: those groups keep every
    site they could edit, and lose the campaigns index, and creating pages at
    the root (a site created later needs its own grants).
    """
    try:
        Index = apps.get_model("interaction", "CampaignIndexPage")
    except LookupError:  # an app registry from before campaign pages
        return
    Group = apps.get_model("auth", "Group")
    Page = apps.get_model("wagtailcore", "Page")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    indexes = list(Index.objects.all())
    if not indexes:
        return
    groups = [Group.objects.get_or_create(name=role)[0] for role in CAMPAIGN_ROLES]
    permissions = [
        _permission(apps, "wagtailcore", "page", f"{action}_page", f"Can {action} page")
        for action in CAMPAIGN_PAGE_PERMISSIONS
    ]
    for index in indexes:
        for group in groups:
            for permission in permissions:
                GroupPagePermission.objects.get_or_create(
                    group=group, page_id=index.pk, permission=permission
                )
    for root in Page.objects.filter(depth=1):
        if not any(index.path.startswith(root.path) for index in indexes):
            continue
        others = Page.objects.filter(depth=2, path__startswith=root.path).exclude(
            pk__in=[index.pk for index in indexes]
        )
        grants = GroupPagePermission.objects.filter(page=root).exclude(group__in=groups)
        for grant in grants:
            for child in others:
                GroupPagePermission.objects.get_or_create(
                    group_id=grant.group_id,
                    page_id=child.pk,
                    permission_id=grant.permission_id,
                )
            grant.delete()


def _sync_workflow(apps, approvers) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    WorkflowContentType = apps.get_model("wagtailcore", "WorkflowContentType")
    ApprovalTask = apps.get_model("interaction", "EnvironmentApprovalTask")

    task_type, _created = ContentType.objects.get_or_create(
        app_label="interaction", model="environmentapprovaltask"
    )
    workflow, _created = Workflow.objects.get_or_create(
        name=WORKFLOW_NAME, defaults={"active": True}
    )
    if not WorkflowTask.objects.filter(workflow=workflow).exists():
        task = ApprovalTask.objects.create(
            name=f"{approvers.name} approval", content_type=task_type, active=True
        )
        task.groups.set([approvers])
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    for model in WORKFLOW_MODELS:
        content_type, _created = ContentType.objects.get_or_create(
            app_label="interaction", model=model
        )
        WorkflowContentType.objects.get_or_create(
            content_type=content_type, defaults={"workflow": workflow}
        )
