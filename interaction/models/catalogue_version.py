from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogueVersion(models.Model):
    """One row: a token that changes whenever the live catalogue may have changed.

    Every process compares it with the version it compiled
    (:mod:`interaction.delivery.versions`), so a publish in one process (a
    worker, ``publish_scheduled`` from cron, a shell) reaches all of them
    through the database alone, with no shared cache to configure.
    """

    token = models.CharField(_("token"), max_length=32)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("catalogue version")

    def __str__(self):
        return self.token
