"""Waiting rooms in the admin: per concert, the live numbers (pre-queue, waiting, active, admitted
and abandoned in the last minute) and the queue policy; pause, resume and flush. A proxy of
Concert, so the catalog's own admin stays untouched. Staff see their organizations' rooms only."""

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import OrganizationScopedAdmin
from concerts.models import WAITING_ROOM_POLICY_FIELDS
from core.admin import SecureModelAdmin
from core.exceptions import ServiceUnavailable
from queueing.models import QueueMonitor
from queueing.selectors import QueueStats, queue_stats
from queueing.services import queue_flush, queue_set_paused


@admin.register(QueueMonitor)
class QueueMonitorAdmin(OrganizationScopedAdmin, SecureModelAdmin):
    list_display = [
        "__str__",
        "prequeue_now",
        "waiting_now",
        "active_now",
        "admitted_recently",
        "abandoned_recently",
        "admission",
        "queue_max_waiting",
        "queue_active_size",
        "session_minutes",
        "admissions_per_minute",
    ]
    list_editable = ["queue_max_waiting", "queue_active_size", "session_minutes", "admissions_per_minute"]
    fieldsets = [
        (None, {"fields": ["title", "artist", "live_numbers"]}),
        (
            _("Waiting room"),
            {"fields": WAITING_ROOM_POLICY_FIELDS},
        ),
    ]
    readonly_fields = ["title", "artist", "live_numbers"]
    search_fields = ["title", "artist"]
    actions = ["pause_admission", "resume_admission", "flush_queue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def _stats(self, obj: QueueMonitor) -> QueueStats | None:
        """The concert's live numbers, read once per row (kept on the row object: the ModelAdmin
        itself is shared between threads)."""
        if not hasattr(obj, "_queue_stats"):
            try:
                obj._queue_stats = queue_stats(concert_id=obj.pk)
            except ServiceUnavailable:
                obj._queue_stats = None
        return obj._queue_stats

    @admin.display(description=_("pre-queue"))
    def prequeue_now(self, obj: QueueMonitor):
        stats = self._stats(obj)
        return stats.prequeue if stats else "?"

    @admin.display(description=_("waiting"))
    def waiting_now(self, obj: QueueMonitor):
        stats = self._stats(obj)
        return stats.waiting if stats else "?"

    @admin.display(description=_("active"))
    def active_now(self, obj: QueueMonitor):
        stats = self._stats(obj)
        return stats.active if stats else "?"

    @admin.display(description=_("admitted in the last minute"))
    def admitted_recently(self, obj: QueueMonitor):
        stats = self._stats(obj)
        return stats.admitted_recently if stats else "?"

    @admin.display(description=_("abandoned in the last minute"))
    def abandoned_recently(self, obj: QueueMonitor):
        stats = self._stats(obj)
        return stats.abandoned_recently if stats else "?"

    @admin.display(description=_("admission"))
    def admission(self, obj: QueueMonitor):
        # PostgreSQL's pause is the source of truth (Redis's copy is re-seeded from it).
        return _("paused") if obj.queue_paused else _("running")

    @admin.display(description=_("live numbers"))
    def live_numbers(self, obj: QueueMonitor):
        stats = self._stats(obj)
        if stats is None:
            return _("Redis unavailable")
        return _(
            "%(prequeue)s in the pre-queue, %(waiting)s waiting, %(active)s active, %(admitted)s admitted and "
            "%(abandoned)s abandoned in the last %(window)s s, %(state)s"
        ) % {
            "prequeue": stats.prequeue,
            "waiting": stats.waiting,
            "active": stats.active,
            "admitted": stats.admitted_recently,
            "abandoned": stats.abandoned_recently,
            "window": settings.QUEUE_RATE_WINDOW_SECONDS,
            "state": _("paused") if obj.queue_paused else _("running"),
        }

    @admin.action(description=_("Pause admission"))
    def pause_admission(self, request: HttpRequest, queryset: QuerySet[QueueMonitor]) -> None:
        for concert_id in queryset.values_list("pk", flat=True):
            queue_set_paused(concert_id=concert_id, paused=True)
        self.message_user(request, _("Admission paused."), messages.SUCCESS)

    @admin.action(description=_("Resume admission"))
    def resume_admission(self, request: HttpRequest, queryset: QuerySet[QueueMonitor]) -> None:
        for concert_id in queryset.values_list("pk", flat=True):
            queue_set_paused(concert_id=concert_id, paused=False)
        self.message_user(request, _("Admission resumed."), messages.SUCCESS)

    @admin.action(description=_("Flush the waiting room (everyone waiting or active is removed)"))
    def flush_queue(self, request: HttpRequest, queryset: QuerySet[QueueMonitor]) -> None:
        for concert_id in queryset.values_list("pk", flat=True):
            queue_flush(concert_id=concert_id)
        self.message_user(request, _("Waiting room flushed."), messages.WARNING)
