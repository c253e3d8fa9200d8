"""Campaign pages (SPEC §6): the campaigns index and campaign page types; the
index at the root of the page tree, where Delivery managers and Interaction
administrators add, edit and publish campaigns, and no other group's grant on
the root reaches.

The data step is a frozen copy of ``sync_campaign_permissions`` in
``interaction/roles.py`` at the time this migration was written (a migration
must not call live application code), plus the index's creation.
"""

import django.core.validators
import django.db.models.deletion
import modelcluster.fields
import wagtail.fields
from django.conf import settings
from django.db import migrations, models


CAMPAIGN_ROLES = ("Delivery managers", "Interaction administrators")
CAMPAIGN_PAGE_PERMISSIONS = ("add", "change", "publish", "lock", "unlock")
INDEX_TITLE = "Campaigns"
INDEX_SLUG = "campaigns"
#: django-treebeard's materialised path: 4 base-36 characters per level.
STEPLEN = 4
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _step(number):
    digits = ""
    while number:
        number, digit = divmod(number, 36)
        digits = ALPHABET[digit] + digits
    return digits.rjust(STEPLEN, "0")


def create_the_campaigns_index(apps, schema_editor):
    """A live "Campaigns" index page, last child of the root (none without a
    root: e.g. a database where Wagtail's initial data was removed)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Page = apps.get_model("wagtailcore", "Page")
    CampaignIndexPage = apps.get_model("interaction", "CampaignIndexPage")
    root = Page.objects.filter(depth=1).order_by("path").first()
    if root is None or CampaignIndexPage.objects.exists():
        return
    children = Page.objects.filter(depth=2, path__startswith=root.path)
    last = children.order_by("-path").values_list("path", flat=True).first()
    number = int(last[-STEPLEN:], 36) + 1 if last else 1
    slugs = set(children.values_list("slug", flat=True))
    slug, suffix = INDEX_SLUG, 2
    while slug in slugs:
        slug, suffix = f"{INDEX_SLUG}-{suffix}", suffix + 1
    content_type, _created = ContentType.objects.get_or_create(
        app_label="interaction", model="campaignindexpage"
    )
    CampaignIndexPage.objects.create(
        title=INDEX_TITLE,
        draft_title=INDEX_TITLE,
        slug=slug,
        content_type=content_type,
        path=root.path + _step(number),
        depth=2,
        numchild=0,
        url_path=f"{root.url_path}{slug}/",
        live=True,
        has_unpublished_changes=False,
        locale_id=root.locale_id,
    )
    Page.objects.filter(pk=root.pk).update(numchild=models.F("numchild") + 1)


def _permission(apps, app_label, model, codename, name):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _created = ContentType.objects.get_or_create(
        app_label=app_label, model=model
    )
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": name}
    )
    return permission


def sync_campaign_permissions(apps, schema_editor):
    Index = apps.get_model("interaction", "CampaignIndexPage")
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
        grants = GroupPagePermission.objects.filter(page=root).exclude(
            group__in=groups
        )
        for grant in grants:
            for child in others:
                GroupPagePermission.objects.get_or_create(
                    group_id=grant.group_id,
                    page_id=child.pk,
                    permission_id=grant.permission_id,
                )
            grant.delete()


class Migration(migrations.Migration):

    dependencies = [
        ('interaction', '0008_proposition_without_call_index'),
        ('wagtailcore', '0098_apitoken'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='CampaignIndexPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
            ],
            options={
                'verbose_name': 'campaigns index',
                'verbose_name_plural': 'campaigns indexes',
            },
            bases=('wagtailcore.page', models.Model),
        ),
        migrations.CreateModel(
            name='CampaignPage',
            fields=[
                ('page_ptr', models.OneToOneField(auto_created=True, on_delete=django.db.models.deletion.CASCADE, parent_link=True, primary_key=True, serialize=False, to=settings.WAGTAIL_PAGE_MODEL)),
                ('population', models.JSONField(blank=True, help_text='Optional. The contacts of the run, a condition on the contact, e.g. {"all": [{"field": "country", "op": "=", "value": "FR"}, {"field": "age", "op": ">=", "value": 18}]}. Groups: all, any, not. Operators: =, !=, <, <=, >, >=, in, not in, contains, startswith, is empty, is not empty. Dates: "2026-01-31" or {"today": -30}. No call context in a campaign. Empty: every contact.', null=True, verbose_name='target population')),
                ('count', models.PositiveSmallIntegerField(default=1, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)], verbose_name='offers per contact')),
                ('exclude_fewer', models.BooleanField(default=False, help_text='Leave out the contacts who would get fewer offers than the number per contact.', verbose_name='exclude contacts who get fewer offers')),
                ('themes', models.CharField(blank=True, help_text='Comma-separated: only offers of any of these themes.', max_length=500, verbose_name='themes')),
                ('contact_date', models.DateTimeField(blank=True, help_text='The date offers, weights and rules are judged at. Empty: when the run starts.', null=True, verbose_name='contact date')),
                ('body', wagtail.fields.StreamField([('paragraph', 0), ('offer', 2)], blank=True, block_lookup={0: ('wagtail.blocks.RichTextBlock', (), {'features': ['h2', 'h3', 'h4', 'bold', 'italic', 'ol', 'ul', 'hr', 'link']}), 1: ('wagtail.blocks.IntegerBlock', (), {'default': 1, 'help_text': "1 is the contact's best offer. Empty for a contact who gets fewer offers.", 'label': 'rank', 'max_value': 100, 'min_value': 1}), 2: ('wagtail.blocks.StructBlock', [[('rank', 1)]], {})}, help_text='What each contact receives. “The contact’s offer at rank k” is rendered by the space for each contact.', verbose_name='delivery content')),
                ('preview_contact', models.CharField(blank=True, help_text="A contact's id (as in the export): the preview shows the content with this contact's offers. Empty: placeholders.", max_length=255, verbose_name='preview for contact')),
                ('category', models.ForeignKey(blank=True, help_text='Only offers of this category and its subcategories.', limit_choices_to={'live': True}, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='interaction.offercategory', verbose_name='category')),
                ('environment', models.ForeignKey(editable=False, help_text="The space's environment: who may work on the campaign.", on_delete=django.db.models.deletion.PROTECT, related_name='campaign_pages', to='interaction.environment', verbose_name='environment')),
                ('offers', modelcluster.fields.ParentalManyToManyField(blank=True, help_text="Optional. Only these live offers, without arbitration (no maximum); eligibility and typology rules still apply. Empty: the engine chooses among the space's offers.", limit_choices_to={'live': True}, related_name='campaign_pages', to='interaction.offer', verbose_name='explicit offers')),
                ('space', models.ForeignKey(help_text='The space whose offers, rules and rendering the campaign uses (batch campaigns may use any live space).', limit_choices_to={'live': True}, on_delete=django.db.models.deletion.PROTECT, related_name='campaign_pages', to='interaction.offerspace', verbose_name='offer space')),
            ],
            options={
                'verbose_name': 'campaign',
                'verbose_name_plural': 'campaigns',
            },
            bases=('wagtailcore.page', models.Model),
        ),
        migrations.RunPython(create_the_campaigns_index, migrations.RunPython.noop),
        migrations.RunPython(sync_campaign_permissions, migrations.RunPython.noop),
    ]
