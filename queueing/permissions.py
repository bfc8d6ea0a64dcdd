"""The booking guard: the one check that a request may use a concert's booking endpoints.

A view opts in with `permission_classes = [HasActiveQueueToken]` and tells which concert the
request is about by defining `get_queue_concert_id(self) -> int | None` (None: this request needs
no queue check, e.g. paying a hold that has already ended answers with its own error). A view
that sets `queue_live_hold = True` on the way (paying a live hold) has the live hold accepted as
proof of admission when the queue lost the fan (queueing.services.queue_require_active_or_live_hold).

The token comes from the `X-Queue-Token` header or, for the fan pages, from the session:
`request.session["queue_tokens"]["<concert id>"]` (queueing.session).
"""

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from queueing.services import queue_require_active, queue_require_active_or_live_hold
from queueing.session import queue_token_from_session

QUEUE_TOKEN_HEADER = "X-Queue-Token"
# Where queueing.authentication leaves the caller's place in the room, read with its API key.
QUEUE_CALLER_ATTRIBUTE = "queue_caller"


def request_queue_token(request: Request, concert_id: int) -> str | None:
    token = request.headers.get(QUEUE_TOKEN_HEADER)
    if token:
        return token
    session = getattr(request, "session", None)
    return queue_token_from_session(session=session, concert_id=concert_id) if session is not None else None


class HasActiveQueueToken(BasePermission):
    """401 NOT_AUTHENTICATED without login; 403 QUEUE_NOT_ACTIVE (with status and position) unless
    the caller holds an ACTIVE token of the view's concert."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise NotAuthenticated()
        concert_id = view.get_queue_concert_id()
        if concert_id is None:
            return True
        token = request_queue_token(request, concert_id)
        caller = getattr(request, QUEUE_CALLER_ATTRIBUTE, None)  # queueing.authentication
        if getattr(view, "queue_live_hold", False):
            queue_require_active_or_live_hold(
                user_id=request.user.pk, concert_id=concert_id, token=token, live_hold=True, caller=caller
            )
        else:
            queue_require_active(user_id=request.user.pk, concert_id=concert_id, token=token, caller=caller)
        return True
