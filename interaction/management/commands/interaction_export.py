"""Export an environment's catalogue to a JSON document (SPEC §8)."""

import json
import shutil
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from interaction.models import Environment
from interaction.transfer import document
from interaction.transfer.schema import schema_text


class Command(BaseCommand):
    help = (
        "Write an environment's catalogue (typology rules, spaces, category "
        "tree, offers) as one versioned JSON document, keyed by codes: the live "
        "version of each object, or with --drafts the latest one. See "
        "docs/catalogue-format.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("environment", nargs="?", help="The environment's code.")
        parser.add_argument(
            "-o", "--output", help="Write to this file (default: standard output)."
        )
        parser.add_argument(
            "--drafts",
            action="store_true",
            help="Export the latest version of each object, drafts included.",
        )
        parser.add_argument(
            "--with-media",
            metavar="DIR",
            help="Copy the offers' image files into this folder.",
        )
        parser.add_argument(
            "--schema",
            action="store_true",
            help="Print the document's JSON Schema instead.",
        )

    def handle(self, *args, environment, output, drafts, with_media, schema, **options):
        if schema:
            self.stdout.write(schema_text(), ending="")
            return
        if not environment:
            raise CommandError("Give the code of the environment to export.")
        found = Environment.objects.filter(code=environment).first()
        if found is None:
            raise CommandError(f"No environment with the code “{environment}”.")
        result = document.export(found, drafts=drafts)
        text = json.dumps(result.as_json(), indent=2, ensure_ascii=False) + "\n"
        if with_media:
            self.copy_media(result.images, Path(with_media))
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error}") from error
        else:
            self.stdout.write(text, ending="")
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
        counts = result.document
        summary = (
            f"Exported “{found.code}”: {len(counts.typology_rules)} typology rules, "
            f"{len(counts.spaces)} spaces, {len(counts.categories)} categories, "
            f"{len(counts.offers)} offers ({'latest versions' if drafts else 'live'})."
        )
        (self.stderr if not output else self.stdout).write(summary)

    def copy_media(self, images, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for image in {image.pk: image for image in images}.values():
                with image.open_file() as source:
                    target = folder / Path(image.file.name).name
                    with target.open("wb") as copy:
                        shutil.copyfileobj(source, copy)
        except OSError as error:
            raise CommandError(f"Cannot copy the images: {error}") from error
        print(f"Images copied to {folder}: {len(images)}", file=sys.stderr)
