from django.apps import apps
from django.core.management.base import BaseCommand

from interaction.roles import ROLES, sync_roles


class Command(BaseCommand):
    help = "Create or update the Interaction groups, permissions and approval workflow."

    def handle(self, *args, **options):
        sync_roles(apps)
        self.stdout.write(f"Synchronised roles: {', '.join(ROLES)}.")
