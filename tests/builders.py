"""Helpers shared by the test modules: catalogue and contact builders, engine
calls and their results, admin form helpers. Fixtures live in ``conftest.py``;
the in-memory catalogue of the pure engine tests in ``engine/catalogue.py``.
"""

import datetime
import itertools
import re
from collections import defaultdict
from html.parser import HTMLParser

from django.urls import reverse
from django.utils.text import slugify
from django_tasks_db.management.commands.db_worker import Worker
from wagtail.models import Locale, Page

from interaction.delivery import caps
from interaction.delivery import propose as services
from interaction.engine.call import Call
from interaction.models import (
    CampaignIndexPage,
    CampaignPage,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    Proposition,
    TypologyRule,
)
from tests.testapp.models import Contact

#: The targeting dimension of the tests' identified environments.
DIMENSION = "testapp.contact"

UTC = datetime.UTC
#: The date of the engine tests' calls (unless a test gives another).
NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SECOND = datetime.timedelta(seconds=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

# -- Catalogue -----------------------------------------------------------------


def publish(obj, user=None):
    """Save ``obj`` as a draft revision and publish it, as the admin does."""
    revision = obj.save_revision(user=user)
    revision.publish(user=user, skip_permission_checks=True)
    obj.refresh_from_db()
    return obj


def make_category(environment, code="cards", *, live=True, **fields):
    category = OfferCategory(
        environment=environment, code=code, label=code.title(), live=False, **fields
    )
    category.save()
    return publish(category) if live else category


def make_space(environment, code="home-banner", *, live=True, **fields):
    space = OfferSpace(
        environment=environment, code=code, label=code.title(), live=False, **fields
    )
    space.save()
    return publish(space) if live else space


def make_offer(category, code="gold-card", *, spaces=(), live=True, **fields):
    offer = Offer(
        category=category, code=code, label=code.title(), live=False, **fields
    )
    offer.save()
    if spaces:
        offer.spaces.set(spaces)
        offer.save()
    return publish(offer) if live else offer


def make_page_offers(category, spaces):
    """Offers "best", "second", "third" and "fourth", of weights 4 to 1, on
    ``spaces``: what the spaces of one page share."""
    for code, weight in (("best", 4), ("second", 3), ("third", 2), ("fourth", 1)):
        make_offer(
            category,
            code,
            spaces=spaces,
            title=code.title(),
            weights=[OfferWeight(value=str(weight))],
        )


def add_weight(offer, value, **fields):
    """Add a weight row and publish the offer again, as the admin does."""
    OfferWeight.objects.create(offer=offer, value=str(value), **fields)
    return publish(offer)


def make_rule(environment, code="rule", **fields):
    """A typology rule: by default one proposition of the same offer a week."""
    values = {"label": code.title(), "period_days": 7, "quantity": 1}
    values.update(fields)
    return TypologyRule.objects.create(environment=environment, code=code, **values)


def campaigns_index():
    """The campaigns index (migration 0009 creates it; after a flush, a new one
    at the root, granted to the campaign roles as in the admin)."""
    index = CampaignIndexPage.objects.first()
    if index is None:
        Locale.objects.get_or_create(language_code="en")
        root = Page.get_first_root_node() or Page.add_root(
            instance=Page(title="Root", slug="root")
        )
        index = root.add_child(
            instance=CampaignIndexPage(title="Campaigns", slug="campaigns")
        )
    return index


def make_campaign(space, title="Spring mailing", *, offers=(), live=True, **fields):
    """A campaign page under the campaigns index, published unless told not."""
    page = CampaignPage(title=title, slug=slugify(title), space=space, **fields)
    campaigns_index().add_child(instance=page)
    if offers:
        page.offers = list(offers)
        page.save()
    if live:
        page.save_revision().publish()
    return CampaignPage.objects.get(pk=page.pk)


# -- Contacts and history --------------------------------------------------------

_emails = itertools.count(1)


def make_contact(**fields):
    """A ``testapp.Contact``: a French gold-tier adult unless told otherwise."""
    values = {
        "email": f"contact{next(_emails)}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "age": 40,
        "country": "FR",
        "loyalty_tier": "gold",
        "signup_date": datetime.date(2024, 1, 1),
    }
    values.update(fields)
    return Contact.objects.create(**values)


def record(offer, space, who, *, status="proposed", when=NOW, visitor=False):
    """A stored proposition of ``offer`` to ``who`` (a contact or a visitor id)."""
    reference = who if isinstance(who, str) else str(who.pk)
    proposition = Proposition.objects.create(
        environment_id=space.environment_id,
        offer=offer,
        offer_code=offer.code,
        category_id=offer.category_id,
        space=space,
        channel=space.channel,
        contact_key="" if visitor else reference,
        visitor_id=reference if visitor else "",
        rank=1,
        weight=1.0,
        status=status,
        event_date=when,
    )
    # Stored outside a call: the global caps count it as a bulk import would.
    for rule in TypologyRule.objects.filter(
        environment_id=space.environment_id, global_capping=True
    ):
        caps.recount(rule, when)
    return proposition


# -- Engine calls and their results ----------------------------------------------


def ask(space, contact=None, *, store=False, **call):
    """One inbound call through ``interaction.delivery.propose`` (the compiled live
    catalogue, the database readers, rendering) on ``space``, at ``NOW`` unless
    told otherwise."""
    call.setdefault("date", NOW)
    if contact is not None:
        call.setdefault(
            "contact", contact if isinstance(contact, str) else str(contact.pk)
        )
    code = space if isinstance(space, str) else space.code
    return services.propose(Call(space=code, **call), store=store)


def _proposals(result):
    """A delivery result's propositions, or a pure engine outcome's proposals."""
    if hasattr(result, "propositions"):
        return result.propositions
    return result.proposals


def codes(result):
    """The codes of the offers proposed, best first."""
    return [proposition.offer.code for proposition in _proposals(result)]


def dropped(result):
    """Offer code -> reason, for every candidate the engine left out."""
    return {d.offer_code: d.reason for d in result.trace if not d.kept}


def weights(result):
    return {p.offer.code: p.weight for p in _proposals(result)}


def shown_codes(html):
    """(space code, its offers' codes) of each space ``{% offer_space %}`` or an
    offer block rendered in ``html``, in order."""
    return [
        (part.split('"', 1)[0], re.findall(r'proposition" data-offer="([^"]+)"', part))
        for part in html.split('data-space="')[1:]
    ]


# -- Admin -------------------------------------------------------------------------


class _EditFormParser(HTMLParser):
    """What a browser would submit from the admin's edit form (``data-edit-form``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_form = False
        self.fields = []
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "data-edit-form" in attrs:
            self.in_form = True
            return
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select = {
                "name": name,
                "multiple": "multiple" in attrs,
                "options": [],
                "selected": [],
            }
        elif tag == "option" and self._select is not None:
            value = attrs.get("value") or ""
            self._select["options"].append(value)
            if "selected" in attrs:
                self._select["selected"].append(value)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            self.fields.append((name, value.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            select = self._select
            values = select["selected"]
            if not values and not select["multiple"] and select["options"]:
                values = select["options"][:1]
            self.fields.extend((select["name"], value) for value in values)
            self._select = None


def admin_form_data(client, url, **changes):
    """GET ``url`` and return its edit form's data as a browser would post it.

    ``changes`` replace fields (``None`` removes one); inline formsets keep the
    rows the page shows.
    """
    response = client.get(url)
    assert response.status_code == 200, url
    parser = _EditFormParser()
    parser.feed(response.content.decode())
    values = defaultdict(list)
    for name, value in parser.fields:
        if "__prefix__" not in name:
            values[name].append(value)
    data = {name: v[0] if len(v) == 1 else v for name, v in values.items()}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def url(model, view, obj=None, *args):
    """The admin URL of ``model``'s ``view`` (of ``obj``, with extra ``args``)."""
    name = model.snippet_viewset.get_url_name(view)
    return reverse(name, args=[obj.pk, *args] if obj is not None else [])


def assert_refused(response):
    """Wagtail's admin answers a ``PermissionDenied`` with a redirect home."""
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def latest(obj):
    """The object as its latest version (the draft, for models with drafts)."""
    obj = type(obj).objects.get(pk=obj.pk)
    if hasattr(obj, "get_latest_revision_as_object"):
        return obj.get_latest_revision_as_object()
    return obj


def workflow_action_url(offer, action):
    """The URL of an approver's workflow button (approve, reject) on ``offer``."""
    task_state = offer.current_workflow_task_state
    return url(Offer, "workflow_action", offer, action, task_state.pk)


# -- Background tasks and the browser ------------------------------------------------


def simulate(space, *, user=None, chunk_size=None, **fields):
    """A simulation on ``space`` (at ``NOW``, seed 1, unless told otherwise)
    started and run to its end in this process."""
    from interaction.models import Simulation
    from interaction.simulation import spec, task

    fields.setdefault("contact_date", NOW)
    fields.setdefault("seed", 1)
    simulation = Simulation(environment_id=space.environment_id, space=space, **fields)
    spec.start(simulation, user=user, enqueue=False)
    task.simulate(simulation.pk, chunk_size=chunk_size or task.CHUNK_SIZE)
    simulation.refresh_from_db()
    return simulation


def run_workers(worker_id="test-worker"):
    """What ``manage.py db_worker --backend batch --queue-name interaction
    --batch`` does, in this thread: run the queued campaign tasks, then
    return (they must be committed: ``transaction=True`` tests, or rows this
    thread's transaction holds)."""
    Worker(
        queue_names=["interaction"],
        interval=0,
        batch=True,
        backend_name="batch",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def admin_login(page, base_url, username, password):
    """Log a Playwright ``page`` in to the admin."""
    page.goto(f"{base_url}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
