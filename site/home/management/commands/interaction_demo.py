"""``manage.py interaction_demo``: seed a realistic, idempotent demo.

Creates the demo logins, an identified ("customers", contacts are
``home.Contact`` rows) and an anonymous ("visitors") environment, typology
rules, offer spaces, a category tree, 20+ published offers, 1,000 contacts, a
home page, and a campaign (the delivery manager's summer newsletter) under the
campaigns index. Running it again creates nothing twice: objects are looked up
by their code (or username, email, slug) and existing ones are left as they
are, so edits made in the admin survive. Nothing is ever deleted, except Wagtail's
untouched "Welcome to your new Wagtail site!" page, replaced by the demo home.
"""

import datetime
import io
import random

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.images import ImageFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import Collection, GroupPagePermission, Page, Site
from wagtail.rich_text import RichText

from home.banners import DEFAULT_PALETTE, PALETTES, banner_png
from home.models import Contact, HomePage, LoyaltyTier
from interaction.models import (
    CampaignIndexPage,
    CampaignPage,
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    SpaceContentField,
    TypologyRule,
)
from interaction.roles import (
    DELIVERY_MANAGERS,
    OFFER_APPROVERS,
    OFFER_MANAGERS,
    sync_campaign_permissions,
    sync_roles,
)

ADMIN_URL = "http://127.0.0.1:8000/admin/"
SITE_URL = "http://127.0.0.1:8000/"
CONTACT_DOMAIN = "example.com"
WAGTAIL_WELCOME_TITLE = "Welcome to your new Wagtail site!"
HOME_TITLE = "Interaction demo"
HOME_SLUG = "interaction-demo"
#: Where the offers' generated banners are kept (looked up by title).
IMAGE_COLLECTION = "Interaction demo"

#: username -> role group. Each one's password is its username.
ROLE_USERS = {
    "manager": OFFER_MANAGERS,
    "approver": OFFER_APPROVERS,
    "delivery": DELIVERY_MANAGERS,
}

ENVIRONMENTS = [
    {
        "code": "customers",
        "label": "Customers",
        "dimension": "home.contact",
        "description": "Known customers: offers are targeted on their contact row.",
    },
    {
        "code": "visitors",
        "label": "Visitors",
        "dimension": "",
        "description": "Anonymous web visitors, known only by a visitor cookie.",
    },
]

RULES = [
    {
        "environment": "customers",
        "code": "same-offer-3-per-week",
        "label": "At most 3 propositions of the same offer per 7 days",
        "period_days": 7,
        "quantity": 3,
        "counted_offers": "offer",
    },
    {
        "environment": "customers",
        "code": "no-rejected-30-days",
        "label": "No offer the contact rejected in the last 30 days",
        "period_days": 30,
        "quantity": 1,
        "counted_offers": "offer",
        "counted_statuses": "rejected",
    },
    {
        "environment": "customers",
        "code": "daily-budget-1000",
        "label": "At most 1,000 propositions of an offer per day (all contacts)",
        "period_days": 1,
        "quantity": 1000,
        "counted_offers": "offer",
        "global_capping": True,
    },
    {
        "environment": "customers",
        "code": "email-2-per-week",
        "label": "At most 2 email offers per contact per 7 days",
        "channel": "email",
        "period_days": 7,
        "quantity": 2,
        "same_channel_only": True,
        "counted_offers": "all",
    },
    {
        "environment": "customers",
        "code": "cards-accepted-once",
        "label": "Card offers stop once a card offer was accepted in 90 days",
        "offer_condition": {
            "field": "offer.category_path",
            "op": "startswith",
            "value": "cards",
        },
        "period_days": 90,
        "quantity": 1,
        "counted_offers": "rule",
        "counted_statuses": "accepted",
    },
    {
        "environment": "visitors",
        "code": "visitor-same-offer-5-per-day",
        "label": "At most 5 propositions of the same offer per visitor per day",
        "period_days": 1,
        "quantity": 5,
        "counted_offers": "offer",
    },
]

#: The home page's hero: the offer's banner, its title and text beside it.
HERO_TEMPLATE = (
    '<article class="promo promo--hero">'
    "{% if offer.image %}"
    '<a class="promo__picture" href="{{ offer.destination_url }}">'
    '<img src="{{ offer.image }}" alt="{{ offer.image_alt }}" width="1280"'
    ' height="640"></a>{% endif %}'
    '<div class="promo__text"><p class="promo__kicker">{{ offer.category_label }}</p>'
    '<h2 class="promo__title">{{ offer.title }}</h2>'
    "{% if offer.html_content %}{{ offer.html_content }}"
    "{% else %}<p>{{ offer.text_content }}</p>{% endif %}"
    "{% if offer.destination_url %}"
    '<a class="button" href="{{ offer.destination_url }}">Find out more</a>'
    "{% endif %}</div></article>"
)
#: A sidebar card: a small banner over the title and a line of text.
CARD_TEMPLATE = (
    '<article class="promo promo--card">'
    "{% if offer.image_banner %}"
    '<img class="promo__thumb" src="{{ offer.image_banner.url }}"'
    ' alt="{{ offer.image_alt }}" width="{{ offer.image_banner.width }}"'
    ' height="{{ offer.image_banner.height }}">{% endif %}'
    '<h3 class="promo__title">{% if offer.destination_url %}'
    '<a href="{{ offer.destination_url }}">{{ offer.title }}</a>'
    "{% else %}{{ offer.title }}{% endif %}</h3>"
    "<p>{{ offer.text_content }}</p></article>"
)

# Spaces in dependency order: fallbacks before the spaces that use them.
SPACES = [
    {
        "environment": "visitors",
        "code": "visitor-hero",
        "label": "Visitor hero banner",
        "description": "Home page banner for visitors who are not identified.",
        "channel": "web",
        "max_offers": 1,
        "fields": [
            ("title", True),
            ("image", False),
            ("html_content", False),
            ("destination_url", False),
        ],
        "html_template": HERO_TEMPLATE,
    },
    {
        "environment": "visitors",
        "code": "visitor-sidebar",
        "label": "Visitor sidebar",
        "description": "Home page sidebar for visitors who are not identified.",
        "channel": "web",
        "max_offers": 3,
        "fields": [
            ("title", True),
            ("image", False),
            ("text_content", False),
            ("destination_url", False),
        ],
        "html_template": CARD_TEMPLATE,
    },
    {
        "environment": "customers",
        "code": "home-hero",
        "label": "Home hero banner",
        "description": "The large banner at the top of the home page.",
        "channel": "web",
        "max_offers": 1,
        "fallback_space": "visitor-hero",
        "fields": [
            ("title", True),
            ("image", False),
            ("html_content", False),
            ("destination_url", True),
        ],
        "html_template": HERO_TEMPLATE,
    },
    {
        "environment": "customers",
        "code": "home-sidebar",
        "label": "Home sidebar",
        "description": "Up to three small offers beside the home page content.",
        "channel": "web",
        "max_offers": 3,
        "fallback_space": "visitor-sidebar",
        "fields": [
            ("title", True),
            ("image", False),
            ("text_content", False),
            ("destination_url", False),
        ],
        "html_template": CARD_TEMPLATE,
    },
    {
        "environment": "customers",
        "code": "newsletter",
        "label": "Monthly newsletter",
        "description": "Offers inserted in the monthly e-mail newsletter.",
        "channel": "email",
        "max_offers": 3,
        "fields": [
            ("title", True),
            ("html_content", False),
            ("text_content", False),
            ("destination_url", False),
        ],
        "html_template": (
            '<table role="presentation"><tr><td>'
            "<h2>{{ offer.title }}</h2>{{ offer.html_content }}"
            '{% if offer.destination_url %}<p><a href="{{ offer.destination_url }}">'
            "Find out more</a></p>{% endif %}</td></tr></table>"
        ),
        "text_template": (
            "{{ offer.title }}\n{{ offer.text_content }}\n{{ offer.destination_url }}"
        ),
    },
    {
        "environment": "customers",
        "code": "app-banner",
        "label": "Mobile app banner",
        "description": "The banner on the mobile app's home screen.",
        "channel": "mobile_app",
        "max_offers": 1,
        "fields": [("title", True), ("text_content", False)],
    },
]

# Categories in tree order: parents before children.
CATEGORIES = [
    {
        "environment": "customers",
        "code": "cards",
        "label": "Cards",
        "themes": "cards, banking",
    },
    {
        "environment": "customers",
        "code": "premium-cards",
        "label": "Premium cards",
        "parent": "cards",
        "themes": "premium",
        "target_filter": {"field": "age", "op": ">=", "value": 21},
    },
    {
        "environment": "customers",
        "code": "travel",
        "label": "Travel",
        "themes": "travel",
    },
    {
        "environment": "customers",
        "code": "summer",
        "label": "Summer",
        "parent": "travel",
        "themes": "summer, holidays",
        "weight_multiplier": 1.5,
    },
    {
        "environment": "customers",
        "code": "insurance",
        "label": "Insurance",
        "themes": "insurance, protection",
    },
    {
        "environment": "customers",
        "code": "savings",
        "label": "Savings",
        "themes": "savings, banking",
    },
    {
        "environment": "customers",
        "code": "fallback",
        "label": "Fallback",
        "themes": "",
        "always_include": True,
    },
    {
        "environment": "visitors",
        "code": "welcome",
        "label": "Welcome offers",
        "themes": "welcome",
    },
]

GOLD_OR_BETTER = {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}
FRANCE_BENELUX = {"field": "country", "op": "in", "value": ["FR", "BE", "NL", "LU"]}

# (category, code, label, weights, spaces, extra fields). A weight is
# (label, value, target_filter or None, space code or None).
OFFERS = [
    # Cards
    (
        "cards",
        "classic-card",
        "Classic card",
        [("Base", "5", None, None)],
        ["home-sidebar", "newsletter"],
        {"text": "A free debit card for everyday payments, no annual fee."},
    ),
    (
        "cards",
        "student-card",
        "Student card",
        [("Young adults", "20 - age / 2", None, None)],
        ["home-hero", "home-sidebar", "app-banner"],
        {
            "text": "The card for students: no fees and cashback on books.",
            "target_filter": {"field": "age", "op": "<", "value": 26},
        },
    ),
    (
        "cards",
        "virtual-card",
        "Virtual card",
        [("Base", "4", None, None), ("In the app", "9", None, "app-banner")],
        ["home-sidebar", "app-banner"],
        {"text": "A disposable virtual card for safer online shopping."},
    ),
    (
        "premium-cards",
        "gold-card",
        "Gold card",
        [
            ("Base", "10 + age / 10", None, None),
            ("Gold members", "25", GOLD_OR_BETTER, None),
        ],
        ["home-hero", "home-sidebar", "newsletter"],
        {"text": "Travel insurance, airport lounges and 1% cashback worldwide."},
    ),
    (
        "premium-cards",
        "platinum-card",
        "Platinum card",
        [("Base", "8", None, None)],
        ["home-hero", "newsletter"],
        {
            "text": "Concierge service, unlimited lounges and premium insurance.",
            "target_filter": {
                "field": "loyalty_tier",
                "op": "in",
                "value": ["gold", "platinum"],
            },
        },
    ),
    (
        "premium-cards",
        "metal-card",
        "Metal card",
        [("Base", "6", None, None)],
        ["home-sidebar"],
        {
            "text": "A solid metal card for our most loyal customers.",
            "target_filter": {
                "all": [
                    {"field": "loyalty_tier", "op": "=", "value": "platinum"},
                    {"field": "age", "op": ">=", "value": 30},
                ]
            },
        },
    ),
    # Travel
    (
        "travel",
        "city-breaks",
        "City breaks",
        [("Base", "6", None, None)],
        ["home-sidebar", "newsletter"],
        {"text": "Two nights in a European capital from 149 €."},
    ),
    (
        "travel",
        "travel-insurance",
        "Travel insurance",
        [("Base", "5 + age / 20", None, None)],
        ["home-sidebar", "newsletter"],
        {"text": "Medical cover and cancellation insurance for every trip."},
    ),
    (
        "travel",
        "ski-week",
        "Ski week",
        [("Base", "4", None, None)],
        ["newsletter"],
        {
            "text": "A week in the Alps with ski pass and equipment included.",
            "target_filter": FRANCE_BENELUX,
        },
    ),
    (
        "summer",
        "summer-beach",
        "Beach holidays",
        [("Base", "12", None, None), ("Hero banner", "18", None, "home-hero")],
        ["home-hero", "home-sidebar", "newsletter"],
        {"text": "Seven nights by the sea, flights included, from 499 €."},
    ),
    (
        "summer",
        "summer-camp",
        "Summer camp",
        [("Base", "7", None, None)],
        ["home-sidebar"],
        {
            "text": "Two weeks of outdoor activities for your children aged 8 to 14.",
            "target_filter": {
                "all": [
                    {"field": "age", "op": ">=", "value": 30},
                    {"field": "age", "op": "<=", "value": 55},
                ]
            },
        },
    ),
    (
        "summer",
        "road-trip",
        "Road trip rental",
        [("Base", "5", None, None)],
        ["home-sidebar", "app-banner"],
        {
            "text": "A convertible for the summer, unlimited mileage.",
            "target_filter": {"field": "age", "op": ">=", "value": 25},
        },
    ),
    # Insurance
    (
        "insurance",
        "home-insurance",
        "Home insurance",
        [("Base", "8", None, None)],
        ["home-hero", "home-sidebar", "newsletter"],
        {"text": "Cover your home and belongings from 9 € a month."},
    ),
    (
        "insurance",
        "car-insurance",
        "Car insurance",
        [
            ("Base", "7", None, None),
            ("Experienced drivers", "10 + age / 10", None, None),
        ],
        ["home-sidebar", "newsletter"],
        {
            "text": "Comprehensive car insurance with a 24/7 assistance line.",
            "target_filter": {"field": "age", "op": ">=", "value": 18},
        },
    ),
    (
        "insurance",
        "pet-insurance",
        "Pet insurance",
        [("Base", "4", None, None)],
        ["home-sidebar", "app-banner"],
        {"text": "Vet bills covered up to 80% for cats and dogs."},
    ),
    (
        "insurance",
        "life-insurance",
        "Life insurance",
        [("Base", "age / 10", None, None)],
        ["newsletter"],
        {
            "text": "Protect your family with a flexible life insurance plan.",
            "target_filter": {"field": "age", "op": ">=", "value": 30},
        },
    ),
    # Savings
    (
        "savings",
        "savings-account",
        "Savings account",
        [("Base", "6", None, None)],
        ["home-hero", "home-sidebar", "newsletter"],
        {"text": "3% interest for the first six months, withdraw anytime."},
    ),
    (
        "savings",
        "retirement-plan",
        "Retirement plan",
        [("Base", "age / 8", None, None)],
        ["home-sidebar", "newsletter"],
        {
            "text": "Start saving for your retirement with tax benefits.",
            "target_filter": {"field": "age", "op": ">=", "value": 40},
        },
    ),
    (
        "savings",
        "kids-savings",
        "Kids savings book",
        [("Base", "3", None, None)],
        ["newsletter"],
        {
            "text": "Open a savings book for your children with a 20 € gift.",
            "target_filter": {
                "all": [
                    {"field": "age", "op": ">=", "value": 28},
                    {"field": "age", "op": "<", "value": 50},
                ]
            },
        },
    ),
    (
        "savings",
        "welcome-bonus",
        "Welcome bonus",
        [("New customers", "15", None, None)],
        ["home-hero", "home-sidebar", "app-banner"],
        {
            "text": "New customer? Get 50 € when you open your first account.",
            "target_filter": {
                "field": "signup_date",
                "op": ">=",
                "value": {"today": -90},
            },
        },
    ),
    # Fallback: low weights, proposed whatever was asked for.
    (
        "fallback",
        "newsletter-signup",
        "Subscribe to our newsletter",
        [("Fallback", "0.5", None, None)],
        ["home-hero", "home-sidebar", "app-banner"],
        {"text": "Our best offers every month in your inbox."},
    ),
    (
        "fallback",
        "mobile-app",
        "Download our app",
        [("Fallback", "0.3", None, None)],
        ["home-sidebar", "newsletter"],
        {"text": "Manage your accounts on the go with our mobile app."},
    ),
    # Visitors (anonymous): only numbers and context values.
    (
        "welcome",
        "open-an-account",
        "Open an account",
        [("Base", "10", None, None)],
        ["visitor-hero", "visitor-sidebar"],
        {"text": "Open an account online in ten minutes."},
    ),
    (
        "welcome",
        "visitor-beach",
        "Summer by the sea",
        [("Base", "6", None, None)],
        ["visitor-hero", "visitor-sidebar"],
        {
            "text": "Holiday deals for everyone, from 499 €.",
        },
    ),
    (
        "welcome",
        "visitor-french",
        "Offres en français",
        [("Base", "8", None, None)],
        ["visitor-sidebar"],
        {
            "text": "Découvrez nos offres en français.",
            "target_filter": {"field": "context.language", "op": "=", "value": "fr"},
        },
    ),
    (
        "welcome",
        "visitor-app",
        "Get the app",
        [("Base", "2", None, None)],
        ["visitor-sidebar"],
        {"text": "Our mobile app: your bank in your pocket."},
    ),
]

CAMPAIGNS_INDEX = {"title": "Campaigns", "slug": "campaigns"}
CAMPAIGN = {
    "title": "Summer newsletter",
    "slug": "summer-newsletter",
    "space": "newsletter",
    "population": {
        "all": [
            {"field": "country", "op": "in", "value": ["FR", "BE", "NL", "LU"]},
            {"field": "age", "op": ">=", "value": 18},
        ]
    },
    "count": 2,
    "themes": "",
    "body": [
        (
            "paragraph",
            RichText(
                "<h2>Your summer selection</h2><p>Hello, here are two offers "
                "picked for you this month.</p>"
            ),
        ),
        ("offer", {"rank": 1}),
        ("paragraph", RichText("<p>And one more:</p>")),
        ("offer", {"rank": 2}),
        ("paragraph", RichText("<p>See you next month!</p>")),
    ],
}

FIRST_NAMES = (
    "Alice Bruno Chloé David Emma Farid Gabriel Hugo Inès Jules Karim Léa Louis "
    "Manon Nora Olivier Paul Quentin Rose Sofia Thomas Ugo Valentin Wendy Yasmine "
    "Zoé Anna Ben Clara Daniel Eva Felix Hanna Ivan Julia Lars Mia Noah Omar Pia"
).split()
LAST_NAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon "
    "Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Peeters "
    "Janssens Maes Jacobs Müller Schmidt Schneider Fischer Weber Meyer Smith Jones "
    "Brown Taylor Wilson Rossi Russo Ferrari Bianchi Romano"
).split()
COUNTRIES = ["FR"] * 8 + ["BE"] * 4 + ["NL"] * 2 + ["LU", "DE", "DE", "GB", "IT", "ES"]
TIERS = (
    [LoyaltyTier.NONE] * 10
    + [LoyaltyTier.SILVER] * 5
    + [LoyaltyTier.GOLD] * 3
    + [LoyaltyTier.PLATINUM]
)


def _ascii(name: str) -> str:
    table = str.maketrans("éèëàäöüï", "eeeaaoui")
    return name.lower().translate(table)


def demo_contacts(count: int, today: datetime.date) -> list[Contact]:
    """``count`` contacts; contact ``i`` is the same whatever ``count`` is."""
    rng = random.Random(42)
    contacts = []
    for index in range(1, count + 1):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        contacts.append(
            Contact(
                email=f"{_ascii(first)}.{_ascii(last)}.{index}@{CONTACT_DOMAIN}",
                first_name=first,
                last_name=last,
                age=rng.randint(18, 85),
                country=rng.choice(COUNTRIES),
                loyalty_tier=rng.choice(TIERS),
                signup_date=today - datetime.timedelta(days=rng.randint(0, 3650)),
            )
        )
    return contacts


class Command(BaseCommand):
    help = (
        "Seed the Interaction demo: logins, environments, typology rules, spaces, "
        "categories, 20+ live offers, contacts and the home page. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts",
            type=int,
            default=1000,
            help="How many demo contacts to have (default 1000).",
        )
        parser.add_argument(
            "--no-migrate",
            action="store_true",
            help="Do not apply migrations first.",
        )

    def handle(self, *args, contacts=1000, no_migrate=False, **options):
        if contacts < 0:
            raise CommandError("--contacts cannot be negative.")
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        self.created = {}
        with transaction.atomic():
            sync_roles(apps)
            users = self.seed_users()
            environments = self.seed_environments(users)
            self.seed_rules(environments)
            spaces = self.seed_spaces(environments)
            categories = self.seed_categories(environments)
            self.seed_offers(categories, spaces)
            self.seed_contacts(contacts)
            self.seed_home_page()
            self.seed_campaigns(spaces, users)
        self.report()

    # Bookkeeping

    def _count(self, kind: str, created: bool) -> None:
        self.created.setdefault(kind, 0)
        if created:
            self.created[kind] += 1

    @staticmethod
    def _publish(obj):
        obj.save_revision().publish(skip_permission_checks=True)
        obj.refresh_from_db()
        return obj

    # Seeding

    def seed_users(self):
        User = get_user_model()
        users = []
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            User.objects.create_superuser("admin", "admin@example.com", "admin")
        self._count("users", admin is None)
        for username, group_name in ROLE_USERS.items():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                user = User.objects.create_user(
                    username,
                    f"{username}@example.com",
                    username,
                    first_name=username.title(),
                    last_name="Demo",
                )
            user.groups.add(Group.objects.get(name=group_name))
            users.append(user)
            self._count("users", created)
        return users

    def seed_environments(self, users):
        environments = {}
        for data in ENVIRONMENTS:
            environment = Environment.objects.filter(code=data["code"]).first()
            created = environment is None
            if created:
                environment = Environment(**data)
                environment.full_clean()
                environment.save()
            environment.users.add(*users)
            environments[data["code"]] = environment
            self._count("environments", created)
        return environments

    def seed_rules(self, environments):
        for data in RULES:
            data = dict(data)
            environment = environments[data.pop("environment")]
            exists = TypologyRule.objects.filter(
                environment=environment, code=data["code"]
            ).exists()
            if not exists:
                rule = TypologyRule(environment=environment, **data)
                rule.full_clean()
                rule.save()
            self._count("typology rules", not exists)

    def seed_spaces(self, environments):
        spaces = {}
        for data in SPACES:
            data = dict(data)
            fields = data.pop("fields")
            environment = environments[data.pop("environment")]
            fallback = data.pop("fallback_space", None)
            space = OfferSpace.objects.filter(code=data["code"]).first()
            created = space is None
            if created:
                space = OfferSpace(
                    environment=environment,
                    fallback_space=spaces.get(fallback) if fallback else None,
                    live=False,
                    **data,
                )
                space.content_fields = [
                    SpaceContentField(field=name, required=required)
                    for name, required in fields
                ]
                space.full_clean()
                for row in space.content_fields.all():
                    row.full_clean(exclude=["space"])
                space.save()
                space = self._publish(space)
            spaces[space.code] = space
            self._count("spaces", created)
        return spaces

    def seed_categories(self, environments):
        categories = {}
        for data in CATEGORIES:
            data = dict(data)
            environment = environments[data.pop("environment")]
            parent = data.pop("parent", None)
            category = OfferCategory.objects.filter(
                environment=environment, code=data["code"]
            ).first()
            created = category is None
            if created:
                category = OfferCategory(
                    environment=environment,
                    parent=categories[parent] if parent else None,
                    live=False,
                    **data,
                )
                category.full_clean()
                category.save()
                category = self._publish(category)
            categories[category.code] = category
            self._count("categories", created)
        return categories

    def seed_offers(self, categories, spaces):
        for category_code, code, label, weights, space_codes, extra in OFFERS:
            category = categories[category_code]
            environment = category.environment
            offer = Offer.objects.filter(environment=environment, code=code).first()
            self._count("offers", offer is None)
            image, new_image = self.offer_image(category, code, label)
            if offer is not None:
                # A demo seeded before offers had images gets them, published
                # again, unless an editor has a draft of the offer under way.
                if (
                    new_image
                    and offer.image_id is None
                    and offer.live
                    and not offer.has_unpublished_changes
                ):
                    offer.image = image
                    self._publish(offer)
                continue
            text = extra["text"]
            offer = Offer(
                category=category,
                environment=environment,
                code=code,
                label=label,
                description=f"Demo offer: {text}",
                title=label,
                destination_url=f"https://bank.example.com/offers/{code}/",
                text_content=text,
                html_content=f"<p><b>{label}.</b> {text}</p>",
                image=image,
                target_filter=extra.get("target_filter"),
                live=False,
            )
            offer.weights = [
                OfferWeight(
                    label=weight_label,
                    value=value,
                    target_filter=target_filter,
                    space=spaces[space_code] if space_code else None,
                )
                for weight_label, value, target_filter, space_code in weights
            ]
            offer.full_clean()
            for weight in offer.weights.all():
                weight.offer = offer
                weight.full_clean(exclude=["offer"])
            offer.save()
            offer.spaces.set([spaces[space_code] for space_code in space_codes])
            offer.save()
            self._publish(offer)

    def offer_image(self, category, code, label):
        """``(image, created)``: the offer's banner in the demo's collection,
        drawn the first time (looked up by title afterwards)."""
        if getattr(self, "collection", None) is None:
            root = Collection.get_first_root_node()
            self.collection = root.get_children().filter(
                name=IMAGE_COLLECTION
            ).first() or root.add_child(name=IMAGE_COLLECTION)
        Image = get_image_model()
        title = f"{label} banner"
        image = Image.objects.filter(collection=self.collection, title=title).first()
        self._count("images", image is None)
        if image is not None:
            return image, False
        kicker = "Our services" if category.always_include else category.label
        png = banner_png(label, kicker, PALETTES.get(category.code, DEFAULT_PALETTE))
        image = Image(
            title=title,
            description=label,
            collection=self.collection,
            file=ImageFile(io.BytesIO(png), name=f"offer-{code}.png"),
        )
        image.save()
        return image, True

    def seed_contacts(self, count):
        before = Contact.objects.filter(email__endswith=f"@{CONTACT_DOMAIN}").count()
        if count > before:
            today = timezone.localdate()
            Contact.objects.bulk_create(
                demo_contacts(count, today), batch_size=500, ignore_conflicts=True
            )
        after = Contact.objects.filter(email__endswith=f"@{CONTACT_DOMAIN}").count()
        self.created["contacts"] = after - before

    def seed_home_page(self):
        site = Site.objects.filter(is_default_site=True).first()
        home = HomePage.objects.filter(depth=2).order_by("path").first()
        created = home is None
        if created:
            root = Page.get_first_root_node()
            welcome = (
                Page.objects.filter(depth=2, title=WAGTAIL_WELCOME_TITLE)
                .exact_type(Page)
                .first()
            )
            slug = HOME_SLUG
            if welcome is not None and welcome.is_leaf():
                # Wagtail's placeholder: replace it, keeping the usual "home" slug.
                slug = welcome.slug
                if site is not None and site.root_page_id == welcome.pk:
                    site.root_page = root
                    site.save()
                # Its page permissions (Wagtail's Editors and Moderators'),
                # kept for the new home page.
                grants = list(
                    GroupPagePermission.objects.filter(page=welcome).values_list(
                        "group_id", "permission_id"
                    )
                )
                welcome.delete()
            else:
                grants = []
            home = root.add_child(
                instance=HomePage(
                    title=HOME_TITLE,
                    slug=slug,
                    intro=(
                        "<p>This demo site shows the <b>Interaction</b> offer "
                        "engine. Pick a contact with <code>?contact=1</code> to "
                        "see targeted offers, or <code>?contact=</code> to "
                        "browse as an anonymous visitor.</p>"
                    ),
                )
            )
            home.save_revision().publish()
            GroupPagePermission.objects.bulk_create(
                GroupPagePermission(group_id=group, page=home, permission_id=permission)
                for group, permission in grants
            )
        self._count("pages", created)
        if site is None:
            Site.objects.create(
                hostname="localhost",
                port=80,
                root_page=home,
                is_default_site=True,
                site_name=HOME_TITLE,
            )
        elif site.root_page_id != home.pk:
            site.root_page = home
            site.save()

    def seed_campaigns(self, spaces, users):
        """The campaigns index (migration 0009 creates it; again here if it
        was deleted) and a campaign of the delivery manager's."""
        index = CampaignIndexPage.objects.first()
        if index is None:
            index = Page.get_first_root_node().add_child(
                instance=CampaignIndexPage(**CAMPAIGNS_INDEX)
            )
            index.save_revision().publish()
        sync_campaign_permissions(apps)
        exists = CampaignPage.objects.filter(slug=CAMPAIGN["slug"]).exists()
        self._count("campaigns", not exists)
        if exists:
            return
        delivery = next(user for user in users if user.username == "delivery")
        first_contact = Contact.objects.order_by("pk").first()
        data = dict(CAMPAIGN)
        campaign = CampaignPage(
            owner=delivery,
            space=spaces[data.pop("space")],
            preview_contact=str(first_contact.pk) if first_contact else "",
            **data,
        )
        index.add_child(instance=campaign)  # validated: Page.save cleans
        campaign.save_revision(user=delivery).publish(user=delivery)

    def report(self):
        for kind, count in self.created.items():
            self.stdout.write(f"  {kind}: {count} created")
        self.stdout.write(self.style.SUCCESS("Interaction demo ready."))
        self.stdout.write(f"Site:  {SITE_URL} (try {SITE_URL}?contact=1)")
        self.stdout.write(f"Admin: {ADMIN_URL}")
        campaign = CampaignPage.objects.filter(slug=CAMPAIGN["slug"]).first()
        if campaign is not None:
            self.stdout.write(
                f"Campaign (delivery / delivery): {ADMIN_URL}pages/{campaign.pk}/edit/"
            )
        self.stdout.write("Logins (username / password):")
        logins = {"admin": "superuser", **ROLE_USERS}
        for username, role in logins.items():
            self.stdout.write(f"  {f'{username} / {username}':<22}{role}")
