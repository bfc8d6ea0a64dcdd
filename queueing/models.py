"""The waiting room lives in Redis (queueing.scripts); this app's only model is an admin view."""

from django.utils.translation import gettext_lazy as _

from concerts.models import Concert


class QueueMonitor(Concert):
    """A concert seen as its waiting room: live numbers and queue policy (queueing.admin)."""

    class Meta:
        proxy = True
        verbose_name = _("waiting room")
        verbose_name_plural = _("waiting rooms")
