"""Importing a catalogue document: all or nothing.

:func:`import_document` first runs :func:`~.validate.references`, then, in one
``transaction.atomic()``: the environment (created, or its label, description
and target filter updated), its typology rules, categories (parents first),
spaces (fallbacks first) and offers, each matched by code within the
environment. Every object is validated by its model (``full_clean``: field
choices and bounds, conditions against the site's dimension fields, formulas,
space templates in the sandbox, dates) and offers also against their spaces'
required content; each problem is kept with its path in the document and the
import goes on, so that all of them are reported. Then, with ``publish``,
spaces, categories and offers whose latest version is not live are published,
in that order.

Any problem, or a dry run, rolls the whole transaction back: nothing is
written (images copied from a media folder are deleted again). Objects whose
content equals the document are left alone: a second import of the same file
creates no revision. Objects of the environment the document does not list are
left as they are. Drafts and publishing go through Wagtail's actions
(``CreateAction``, ``EditAction``, ``PublishRevisionAction``), so permissions
(for an admin user), locks, signals and the audit log (:mod:`.log`, one
``uuid`` per import) are the admin's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files import File
from django.db import DatabaseError, models, transaction
from wagtail.actions import action_registry
from wagtail.images import get_image_model
from wagtail.log_actions import LogContext, log

from ..models import (
    Environment,
    Offer,
    OfferCategory,
    OfferSpace,
    OfferWeight,
    SpaceContentField,
    TypologyRule,
)
from . import document as entries
from . import log as actions
from .schema import (
    CategoryEntry,
    Document,
    EnvironmentEntry,
    OfferEntry,
    RuleEntry,
    SpaceEntry,
    WeightEntry,
)
from .validate import Problem, Refused, media_file, references

#: The kinds of a report, in the order of the document.
KINDS = ("environment", "typology_rules", "spaces", "categories", "offers", "images")
#: Field names of the models that the document calls otherwise.
DOCUMENT_NAMES = {"value": "formula"}


@dataclass
class Outcome:
    """What an import did (or would do) to the objects of one kind, by code."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)


@dataclass
class Report:
    dry_run: bool
    publish: bool
    outcomes: dict[str, Outcome] = field(
        default_factory=lambda: {kind: Outcome() for kind in KINDS}
    )

    @property
    def changed(self) -> bool:
        return any(
            o.created or o.updated or o.published for o in self.outcomes.values()
        )

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "created": len(o.created),
                "updated": len(o.updated),
                "unchanged": len(o.unchanged),
                "published": len(o.published),
            }
            for kind, o in self.outcomes.items()
        }

    def lines(self) -> list[str]:
        """The report as text, one line per kind and outcome."""
        would = "would be " if self.dry_run else ""
        lines = []
        for kind, outcome in self.outcomes.items():
            name = kind.replace("_", " ")
            for what in ("created", "updated", "unchanged", "published"):
                codes = getattr(outcome, what)
                if codes:
                    verb = what if what == "unchanged" else would + what
                    lines.append(f"{name}: {len(codes)} {verb}: {', '.join(codes)}")
        if not lines:
            lines.append("Nothing to import.")
        elif not self.changed:
            lines.append("Nothing changes.")
        return lines


class _DryRun(Exception):
    pass


def import_document(
    document: Document,
    *,
    user=None,
    publish: bool = False,
    dry_run: bool = False,
    media_dir: Path | None = None,
    source: str = "",
) -> Report:
    """Import ``document``; :class:`~.validate.Refused` with every problem if
    anything is wrong (then nothing is written). ``user``: who the audit log
    names, whose permissions the actions check (``None``: no checks, the
    command)."""
    problems = references(document, media_dir)
    if problems:
        raise Refused(problems)
    importer = _Importer(document, user, publish, media_dir)
    with LogContext(user=user):
        try:
            with transaction.atomic():
                importer.run(source)
                if importer.problems:
                    raise Refused(importer.problems)
                if dry_run:
                    raise _DryRun
        except (Refused, _DryRun) as error:
            importer.forget_copied_files()
            if isinstance(error, Refused):
                raise
        except BaseException:
            importer.forget_copied_files()
            raise
    importer.report.dry_run = dry_run
    return importer.report


def _messages(error: ValidationError, path: str) -> list[Problem]:
    if not hasattr(error, "error_dict"):
        return [Problem(path, message) for message in error.messages]
    problems = []
    for name, messages in error.message_dict.items():
        where = path
        if name != NON_FIELD_ERRORS:
            where = f"{path}.{DOCUMENT_NAMES.get(name, name)}"
        problems += [Problem(where, message) for message in messages]
    return problems


def _only(model: type[models.Model], names: Iterable[str]) -> list[str]:
    """The field names of ``model`` not in ``names``: what ``full_clean``
    leaves out (Wagtail's bookkeeping, fields the document does not carry)."""
    keep = set(names)
    return [f.name for f in model._meta.get_fields() if f.name not in keep]


def _in_order(entries: list, depends_on: Callable[[Any], str | None]) -> list:
    """``(index, entry)`` pairs of ``entries``, each after the entry of the
    document it depends on (cycles are refused beforehand)."""
    pending = list(enumerate(entries))
    codes = {entry.code for entry in entries}
    done: set[str] = set()
    ordered: list = []
    while pending:
        ready = [
            (index, entry)
            for index, entry in pending
            if depends_on(entry) not in codes or depends_on(entry) in done
        ]
        if not ready:  # a cycle: refused by references(), never reached
            break
        ordered += ready
        done |= {entry.code for _index, entry in ready}
        pending = [item for item in pending if item not in ready]
    return ordered


class _Importer:
    def __init__(self, document: Document, user, publish: bool, media_dir):
        self.document = document
        self.user = user
        self.publish = publish
        self.media_dir = media_dir
        self.problems: list[Problem] = []
        self.report = Report(dry_run=False, publish=publish)
        self.environment: Environment | None = None
        #: code -> the object as imported (its latest version), by kind.
        self.categories: dict[str, OfferCategory] = {}
        self.spaces: dict[str, OfferSpace] = {}
        self.offers: dict[str, Offer] = {}
        self.images: dict[str, Any] = {}
        self.copied_files: list[str] = []

    # -- steps ----------------------------------------------------------------

    def run(self, source: str) -> None:
        self.import_environment(self.document.environment)
        if self.environment is None or self.environment.pk is None:
            return
        for index, rule in enumerate(self.document.typology_rules):
            self.import_rule(index, rule)
        for index, category in self._parents_first():
            self.import_category(index, category)
        for index, space in self._fallbacks_first():
            self.import_space(index, space)
        for index, offer in enumerate(self.document.offers):
            self.import_offer(index, offer)
        if self.publish and not self.problems:
            self.publish_all()
        if not self.problems and self.report.changed and self.environment:
            log(
                instance=self.environment,
                action=actions.IMPORT,
                user=self.user,
                data={"source": source[:255], "counts": self.report.counts()},
            )

    def _parents_first(self) -> list[tuple[int, CategoryEntry]]:
        return _in_order(self.document.categories, lambda entry: entry.parent)

    def _fallbacks_first(self) -> list[tuple[int, SpaceEntry]]:
        return _in_order(self.document.spaces, lambda entry: entry.fallback_space)

    def import_environment(self, entry: EnvironmentEntry) -> None:
        existing = Environment.objects.filter(code=entry.code).first()
        environment = existing or Environment()
        self.environment = environment
        self._import(
            "environment",
            "environment",
            entry.code,
            environment,
            existing is not None,
            entries.environment_entry,
            lambda: self._set(environment, entry, EnvironmentEntry),
            EnvironmentEntry,
        )

    def import_rule(self, index: int, entry: RuleEntry) -> None:
        existing = TypologyRule.objects.filter(
            environment=self.environment, code=entry.code
        ).first()
        rule = existing or TypologyRule(environment=self.environment)
        self._import(
            "typology_rules",
            f"typology_rules[{index}]",
            entry.code,
            rule,
            existing is not None,
            entries.rule_entry,
            lambda: self._set(rule, entry, RuleEntry),
            RuleEntry,
        )

    def import_category(self, index: int, entry: CategoryEntry) -> None:
        category = self._latest(OfferCategory, entry.code)
        new = category is None
        if category is None:
            category = OfferCategory(environment=self.environment)

        def apply():
            self._set(category, entry, CategoryEntry)
            category.parent = (
                self._category(entry.parent) if entry.parent is not None else None
            )

        self._import(
            "categories",
            f"categories[{index}]",
            entry.code,
            category,
            not new,
            entries.category_entry,
            apply,
            CategoryEntry,
            extra=("parent",),
        )
        self.categories[entry.code] = category

    def import_space(self, index: int, entry: SpaceEntry) -> None:
        space = self._latest(OfferSpace, entry.code)
        new = space is None
        if space is None:
            space = OfferSpace(environment=self.environment)
        path = f"spaces[{index}]"

        def apply():
            self._set(space, entry, SpaceEntry)
            space.default_category = (
                self._category(entry.default_category)
                if entry.default_category
                else None
            )
            space.fallback_space = (
                self._space(entry.fallback_space, anywhere=True)
                if entry.fallback_space
                else None
            )
            space.content_fields = [
                SpaceContentField(field=row.field, required=row.required, sort_order=i)
                for i, row in enumerate(entry.content_fields)
            ]
            for position, row in enumerate(space.content_fields.all()):
                self._clean_child(
                    row, f"{path}.content_fields[{position}]", ["field", "required"]
                )

        self._import(
            "spaces",
            path,
            entry.code,
            space,
            not new,
            entries.space_entry,
            apply,
            SpaceEntry,
            extra=("default_category", "fallback_space"),
        )
        self.spaces[entry.code] = space

    def import_offer(self, index: int, entry: OfferEntry) -> None:
        offer = self._latest(Offer, entry.code)
        new = offer is None
        if offer is None:
            offer = Offer(environment=self.environment)
        path = f"offers[{index}]"

        def apply():
            self._set(offer, entry, OfferEntry)
            offer.category = self._category(entry.category)
            offer.image = self._image(entry.image) if entry.image else None
            spaces = [self._space(code) for code in entry.spaces]
            offer.spaces = spaces
            offer.weights = [
                self._weight(row, i) for i, row in enumerate(entry.weights)
            ]
            for position, row in enumerate(offer.weights.all()):
                where = f"{path}.weights[{position}]"
                self._clean_child(
                    row, where, [*entries.plain_fields(WeightEntry), "value", "space"]
                )
                self.problems += _messages(
                    ValidationError(row.validation_errors(self.environment)), where
                )
            # Required content, against the spaces as imported.
            for message in offer.publishing_errors(spaces=spaces):
                self.problems.append(Problem(f"{path}.spaces", str(message)))

        self._import(
            "offers",
            path,
            entry.code,
            offer,
            not new,
            entries.offer_entry,
            apply,
            OfferEntry,
            extra=("category", "image"),
        )
        self.offers[entry.code] = offer

    def publish_all(self) -> None:
        for kind, objects, model in (
            ("spaces", self.spaces, OfferSpace),
            ("categories", self.categories, OfferCategory),
            ("offers", self.offers, Offer),
        ):
            paths = {
                entry.code: f"{kind}[{index}]"
                for index, entry in enumerate(getattr(self.document, kind))
            }
            for code, obj in objects.items():
                row = model.objects.get(pk=obj.pk)
                if row.live and not row.has_unpublished_changes:
                    continue
                revision = row.latest_revision or row.save_revision(user=self.user)
                try:
                    with transaction.atomic():
                        revision.publish(
                            user=self.user,
                            log_action=actions.PUBLISH,
                            skip_permission_checks=self.user is None,
                        )
                except (ValidationError, PermissionDenied) as error:
                    self._refused(error, paths[code])
                    continue
                self.report.outcomes[kind].published.append(code)

    # -- helpers ----------------------------------------------------------------

    def _import(
        self,
        kind: str,
        path: str,
        code: str,
        obj,
        exists: bool,
        entry_of: Callable[[Any], Any],
        apply: Callable[[], None],
        entry_class: type,
        extra: tuple[str, ...] = (),
    ) -> None:
        """Apply the document to ``obj`` (new, or an object's latest version),
        validate it with its model, and save it as a draft if it changed."""
        before = entry_of(obj).model_dump() if exists else None
        apply()
        names = [*entries.plain_fields(entry_class), *extra]
        try:
            obj.full_clean(
                exclude=_only(type(obj), names),
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            self.problems += _messages(error, path)
        outcome = self.report.outcomes[kind]
        if exists and entry_of(obj).model_dump() == before:
            outcome.unchanged.append(code)
            return
        action = "edit" if exists else "create"
        action_class = action_registry.get_action_class(type(obj), action)
        try:
            with transaction.atomic():
                action_class(
                    obj,
                    user=self.user,
                    log_action=actions.EDIT if exists else actions.CREATE,
                    clean=False,  # validated above, every problem kept
                ).execute(skip_permission_checks=self.user is None)
        except (ValidationError, PermissionDenied) as error:
            self._refused(error, path)
            return
        except DatabaseError as error:
            self.problems.append(Problem(path, f"Could not be saved: {error}"))
            return
        (outcome.updated if exists else outcome.created).append(code)

    def _refused(self, error: Exception, path: str) -> None:
        if isinstance(error, ValidationError):
            self.problems += _messages(error, path)
        else:
            self.problems.append(Problem(path, str(error)))

    def _clean_child(self, row: models.Model, path: str, names: list[str]) -> None:
        try:
            row.clean_fields(exclude=_only(type(row), names))
        except ValidationError as error:
            self.problems += _messages(error, path)

    def _set(self, obj, entry, entry_class: type) -> None:
        for name in entries.plain_fields(entry_class):
            setattr(obj, name, getattr(entry, name))

    def _latest(self, model, code: str):
        row = model.objects.filter(environment=self.environment, code=code).first()
        return row.get_latest_revision_as_object() if row is not None else None

    def _category(self, code: str) -> OfferCategory:
        if code in self.categories:
            return self.categories[code]
        return OfferCategory.objects.get(environment=self.environment, code=code)

    def _space(self, code: str, *, anywhere: bool = False) -> OfferSpace:
        if code in self.spaces:
            return self.spaces[code]
        spaces = OfferSpace.objects.all()
        if not anywhere:
            spaces = spaces.filter(environment=self.environment)
        return spaces.get(code=code)

    def _weight(self, entry: WeightEntry, position: int) -> OfferWeight:
        row = OfferWeight(value=entry.formula, sort_order=position)
        self._set(row, entry, WeightEntry)
        row.space = self._space(entry.space) if entry.space else None
        return row

    def _image(self, name: str):
        if name not in self.images:
            image = entries.find_image(name)
            if image is None:
                image = self._copy_image(name)
            self.images[name] = image
        return self.images[name]

    def _copy_image(self, name: str):
        path = media_file(self.media_dir, name) if self.media_dir else None
        if path is None:  # checked by references(): not reached
            raise Refused([Problem("", f"No image “{name}”.")])
        image = get_image_model()(title=name)
        with path.open("rb") as handle:
            image.file = File(handle, name=name)
            image._set_image_file_metadata()
            image.save()
        self.copied_files.append(image.file.name)
        self.report.outcomes["images"].created.append(name)
        return image

    def forget_copied_files(self) -> None:
        """Delete the files of images copied in a transaction rolled back."""
        for name in self.copied_files:
            get_image_model()._meta.get_field("file").storage.delete(name)
        self.copied_files = []
