"""URLs for this app's API tests: the queue endpoints and a tiny view behind the booking guard,
independent of the other apps' URL confs."""

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from queueing.apis import QueueTokenCreateApi
from queueing.permissions import HasActiveQueueToken


class GuardedApi(APIView):
    """Stands for a booking endpoint (shows, seats, hold, payment) of concert `concert_id`;
    concert 0 stands for "no queue check needed" (get_queue_concert_id returns None)."""

    permission_classes = [HasActiveQueueToken]

    def get_queue_concert_id(self) -> int | None:
        return self.kwargs["concert_id"] or None

    def get(self, request: Request, concert_id: int) -> Response:
        return Response({"ok": True, "user_id": request.user.pk})


urlpatterns = [
    path("api/v1/", include("queueing.urls")),
    path("guarded/<int:concert_id>", GuardedApi.as_view()),
    # Entering served by DRF even for API-key callers: the equivalent of the lean path
    path("drf/concerts/<int:concert_id>/queue-tokens", QueueTokenCreateApi.as_view(lean_methods=frozenset())),
]
