import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from interaction.models import Proposition

DEFAULT_RETENTION_DAYS = 365
BATCH_SIZE = 10_000


class Command(BaseCommand):
    help = (
        "Delete propositions older than the retention period (SPEC §3), in batches. "
        "Run it daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_RETENTION_DAYS,
            help=f"Retention in days (default {DEFAULT_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would go."
        )

    def handle(self, *args, days, dry_run, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - datetime.timedelta(days=days)
        old = Proposition.objects.filter(event_date__lt=cutoff)
        if dry_run:
            self.stdout.write(f"{old.count()} proposition(s) older than {days} days.")
            return
        deleted = 0
        while True:
            ids = list(old.order_by().values_list("pk", flat=True)[:BATCH_SIZE])
            if not ids:
                break
            deleted += Proposition.objects.filter(pk__in=ids).delete()[0]
        self.stdout.write(f"Deleted {deleted} proposition(s) older than {days} days.")
