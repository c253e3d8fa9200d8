"""Import a catalogue document into this site, all or nothing (SPEC §8)."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from interaction.transfer.apply import import_document
from interaction.transfer.schema import MAX_DOCUMENT_BYTES
from interaction.transfer.validate import Refused, read


class Command(BaseCommand):
    help = (
        "Validate a catalogue document (from interaction_export) and import it: "
        "drafts created or updated by code, and with --publish published "
        "(spaces, categories, then offers). Nothing is written if anything is "
        "invalid: every problem is printed with its path in the document, and "
        "the command exits with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON document ('-' for standard input).")
        parser.add_argument(
            "--publish", action="store_true", help="Publish what is imported."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and print what would be created, updated and "
            "unchanged; write nothing.",
        )
        parser.add_argument(
            "--with-media",
            metavar="DIR",
            help="Create the images the site lacks from the files in this folder.",
        )
        parser.add_argument(
            "--user",
            help="The username the audit log names for the import (default: none).",
        )

    def handle(self, *args, file, publish, dry_run, with_media, user, **options):
        importer = None
        if user:
            importer = get_user_model().objects.filter(username=user).first()
            if importer is None:
                raise CommandError(f"No user “{user}”.")
        media = Path(with_media) if with_media else None
        if media is not None and not media.is_dir():
            raise CommandError(f"{with_media} is not a folder.")
        content = self.read_file(file)
        try:
            report = import_document(
                read(content),
                user=importer,
                publish=publish,
                dry_run=dry_run,
                media_dir=media,
                source=Path(file).name,
            )
        except Refused as refused:
            for problem in refused.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{file}: refused ({len(refused.problems)} problem"
                f"{'s' if len(refused.problems) != 1 else ''}); nothing was written."
            ) from None
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        for line in report.lines():
            self.stdout.write(line)

    def read_file(self, file: str) -> bytes:
        try:
            if file == "-":
                import sys

                return sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
            with open(file, "rb") as handle:
                return handle.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from error
