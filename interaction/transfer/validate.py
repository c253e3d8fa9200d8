"""Reading a catalogue document, and the checks made before anything is written.

:func:`read` turns bytes into a :class:`~.schema.Document`: JSON, format and
version, then the schema. :func:`references` checks what needs the importing
site: duplicate codes, references (categories, spaces, images) to the
document or the site, category and fallback cycles, codes taken by another
environment, the environment's dimension. Each problem carries its path in
the document (``offers[3].weights[0].formula``). What the models check
themselves (conditions against the dimension's fields, formulas, templates,
choices, dates, required content) is checked by :mod:`.apply`, with the
models' own validators.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from ..models import Environment, OfferCategory, OfferSpace
from .document import find_image
from .schema import FORMAT, MAX_DOCUMENT_BYTES, UPGRADES, VERSION, Document


@dataclass(frozen=True)
class Problem:
    """One reason a document is refused, at ``path`` in the document."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class Refused(Exception):
    """The document is refused; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = list(problems)


def path_of(location: Iterable[Any]) -> str:
    """``("offers", 3, "weights", 0, "formula")`` becomes
    ``offers[3].weights[0].formula``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _schema_path(location: tuple[Any, ...], data: Any) -> str:
    """The path of a pydantic error: its location, without the names pydantic
    gives the members of a union (``start_date.datetime``)."""
    parts: list[Any] = []
    node = data
    for part in location:
        if isinstance(node, list) and isinstance(part, int):
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        else:
            break
        parts.append(part)
    return path_of(parts)


def read(content: bytes | str) -> Document:
    """The document in ``content``, or :class:`Refused` with every problem."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise Refused(
            [
                Problem(
                    "",
                    f"The file is too big ({len(content):,} bytes; at most "
                    f"{MAX_DOCUMENT_BYTES:,}).",
                )
            ]
        )
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Refused(
                [Problem("", f"The file is not UTF-8 text (byte {error.start}).")]
            ) from None
    try:
        data = json.loads(content)
    except json.JSONDecodeError as error:
        raise Refused(
            [
                Problem(
                    "",
                    f"Not valid JSON: {error.msg} (line {error.lineno}, "
                    f"column {error.colno}).",
                )
            ]
        ) from None
    except RecursionError:
        raise Refused([Problem("", "Not valid JSON: nested too deeply.")]) from None
    data = _upgraded(data)
    try:
        return Document.model_validate_json(json.dumps(data))
    except pydantic.ValidationError as error:
        raise Refused(
            [
                Problem(_schema_path(e["loc"], data), e["msg"])
                for e in error.errors(include_url=False)
            ]
        ) from None


def _upgraded(data: Any) -> dict[str, Any]:
    """``data`` checked for format and version, upgraded to :data:`VERSION`."""
    if not isinstance(data, dict):
        raise Refused([Problem("", "The document must be a JSON object.")])
    if data.get("format") != FORMAT:
        raise Refused(
            [
                Problem(
                    "format",
                    f"This is not a catalogue document: “format” must be “{FORMAT}”.",
                )
            ]
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise Refused([Problem("version", "The version must be a whole number.")])
    oldest = min([*UPGRADES, VERSION])
    if version > VERSION:
        raise Refused(
            [
                Problem(
                    "version",
                    f"Version {version} is newer than this site reads (versions "
                    f"{oldest} to {VERSION}): upgrade wagtail-interaction here, "
                    "or export from a site of the same version.",
                )
            ]
        )
    if version < oldest:
        raise Refused(
            [
                Problem(
                    "version",
                    f"Version {version} is no longer read (versions {oldest} to "
                    f"{VERSION}): export the catalogue again with a newer "
                    "wagtail-interaction.",
                )
            ]
        )
    while version < VERSION:
        data = UPGRADES[version](data)
        version += 1
        data["version"] = version
    return data


def _duplicates(entries, kind: str, key: str = "code") -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        value = entry if isinstance(entry, str) else getattr(entry, key)
        if value in seen:
            problems.append(
                Problem(
                    f"{kind}[{index}]" + ("" if isinstance(entry, str) else f".{key}"),
                    f"Duplicate “{value}” (also at {kind}[{seen[value]}]).",
                )
            )
        else:
            seen[value] = index
    return problems


def _cycles(parents: dict[str, str | None], codes: Iterable[str]) -> set[str]:
    """The codes among ``codes`` whose chain of parents loops."""
    looping = set()
    for code in codes:
        seen, node = {code}, parents.get(code)
        while node is not None:
            if node in seen:
                looping.add(code)
                break
            seen.add(node)
            node = parents.get(node)
    return looping


def references(document: Document, media_dir: Path | None = None) -> list[Problem]:
    """What is wrong with ``document`` on this site, before anything is written."""
    problems: list[Problem] = []
    environment = Environment.objects.filter(code=document.environment.code).first()
    if (
        environment is not None
        and environment.dimension != document.environment.dimension
    ):
        problems.append(
            Problem(
                "environment.dimension",
                f"The environment “{environment.code}” of this site targets "
                f"“{environment.dimension or 'anonymous visitors'}”, the document "
                f"“{document.environment.dimension or 'anonymous visitors'}”.",
            )
        )
    for kind in ("typology_rules", "spaces", "categories", "offers"):
        problems += _duplicates(getattr(document, kind), kind)
    for index, space in enumerate(document.spaces):
        problems += _duplicates(
            space.content_fields, f"spaces[{index}].content_fields", "field"
        )
    for index, offer in enumerate(document.offers):
        problems += _duplicates(offer.spaces, f"offers[{index}].spaces")

    # Categories: the document's, then the site's of the same environment.
    site_parents: dict[str, str | None] = {}
    if environment is not None:
        site_parents = {
            code: parent
            for code, parent in OfferCategory.objects.filter(
                environment=environment
            ).values_list("code", "parent__code")
        }
    parents = {**site_parents, **{c.code: c.parent for c in document.categories}}
    looping = _cycles(parents, [c.code for c in document.categories])
    for index, category in enumerate(document.categories):
        path = f"categories[{index}].parent"
        if category.parent is None:
            continue
        if category.parent not in parents:
            problems.append(Problem(path, f"Unknown category “{category.parent}”."))
        elif category.code in looping:
            problems.append(Problem(path, "A category cannot be placed below itself."))

    # Spaces: codes are unique on the site.
    space_codes = {space.code for space in document.spaces}
    elsewhere = {
        code: other
        for code, other in OfferSpace.objects.filter(code__in=space_codes)
        .exclude(environment__code=document.environment.code)
        .values_list("code", "environment__code")
    }
    site_spaces = (
        set(
            OfferSpace.objects.filter(environment=environment).values_list(
                "code", flat=True
            )
        )
        if environment is not None
        else set()
    )
    own_spaces = space_codes | site_spaces
    fallbacks = {s.code: s.fallback_space for s in document.spaces}
    looping = _cycles(fallbacks, space_codes)
    for index, space in enumerate(document.spaces):
        path = f"spaces[{index}]"
        if space.code in elsewhere:
            problems.append(
                Problem(
                    f"{path}.code",
                    f"The space “{space.code}” belongs to the environment "
                    f"“{elsewhere[space.code]}” on this site (space codes are "
                    "unique on a site).",
                )
            )
        if space.default_category and space.default_category not in parents:
            problems.append(
                Problem(
                    f"{path}.default_category",
                    f"Unknown category “{space.default_category}”.",
                )
            )
        fallback = space.fallback_space
        if fallback is None:
            continue
        if fallback == space.code or space.code in looping:
            problems.append(
                Problem(f"{path}.fallback_space", "A space cannot fall back on itself.")
            )
        elif (
            fallback not in space_codes
            and not OfferSpace.objects.filter(code=fallback).exists()
        ):
            problems.append(
                Problem(f"{path}.fallback_space", f"Unknown space “{fallback}”.")
            )

    for index, offer in enumerate(document.offers):
        path = f"offers[{index}]"
        if offer.category not in parents:
            problems.append(
                Problem(f"{path}.category", f"Unknown category “{offer.category}”.")
            )
        for position, code in enumerate(offer.spaces):
            if code not in own_spaces:
                problems.append(
                    Problem(
                        f"{path}.spaces[{position}]",
                        f"Unknown space “{code}” in this environment.",
                    )
                )
        for position, row in enumerate(offer.weights):
            if row.space is not None and row.space not in own_spaces:
                problems.append(
                    Problem(
                        f"{path}.weights[{position}].space",
                        f"Unknown space “{row.space}” in this environment.",
                    )
                )
        if offer.image is not None and find_image(offer.image) is None:
            if media_dir is None or not media_file(media_dir, offer.image):
                where = f" nor in {media_dir}" if media_dir is not None else ""
                problems.append(
                    Problem(
                        f"{path}.image",
                        f"No image “{offer.image}” on this site{where}.",
                    )
                )
    return problems


def media_file(media_dir: Path, name: str) -> Path | None:
    """The file ``name`` directly in ``media_dir`` (never elsewhere), if any."""
    path = (media_dir / name).resolve()
    if path.parent != media_dir.resolve() or not path.is_file():
        return None
    return path
