"""Start a campaign's batch run from cron or a script (SPEC §6)."""

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Page

from interaction.campaigns import runs
from interaction.models.choices import RunStatus


class Command(BaseCommand):
    help = (
        "Start a batch run of a campaign page: its chunks go to the workers "
        "(manage.py db_worker --backend batch --queue-name interaction), or with "
        "--wait run here to the end, printing the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("page_id", type=int, help="The campaign page's id.")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Run the chunks in this process to the end and print the counts.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            help="Orders offers of equal weight (default: a random one).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=runs.CHUNK_SIZE,
            help=f"Contacts per chunk (default {runs.CHUNK_SIZE}).",
        )

    def handle(self, *args, page_id, wait, seed, chunk_size, **options):
        if seed is not None and not 0 <= seed < 2**63:
            raise CommandError("--seed must be a whole number from 0 to 2**63 - 1.")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        page = Page.objects.filter(pk=page_id).first()
        if page is None:
            raise CommandError(f"No page with id {page_id}.")
        try:
            run = runs.start(page, seed=seed, chunk_size=chunk_size, enqueue=not wait)
        except runs.RunError as error:
            raise CommandError(str(error)) from error
        if not wait:
            self.stdout.write(
                f"Run {run.pk} of “{page.title}” queued (seed {run.seed}): start "
                "workers with `manage.py db_worker --backend batch --queue-name "
                "interaction`."
            )
            return
        try:
            run = runs.run_to_end(run)
        except runs.RunError as error:
            raise CommandError(f"Run {run.pk} failed: {error}") from error
        self.stdout.write(
            f"Run {run.pk} of “{page.title}”: {run.get_status_display().lower()} "
            f"(seed {run.seed}).\n"
            f"Contacts: {run.contacts_processed} processed of {run.contacts_total}, "
            f"{run.contacts_excluded} excluded.\n"
            f"Propositions written: {run.propositions_written}.\n"
            f"Chunks: {run.chunks_done} done, {run.chunks_failed} failed, "
            f"of {run.chunks_total}."
        )
        if run.status != RunStatus.DONE:
            raise CommandError(
                f"Run {run.pk} did not complete ({run.get_status_display().lower()})"
                + (f": {run.error}" if run.error else ".")
            )
