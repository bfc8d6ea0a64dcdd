"""The one place the fan pages ask the waiting room whether a fan may book.

The pages keep a fan's queue tokens in the session, where the queueing app's booking guard reads
them too (queueing.services.SESSION_QUEUE_TOKENS); these adapters keep the pages' views free of
the queueing app's details.
"""

from django.http import HttpRequest

from queueing.exceptions import QueueNotActive
from queueing.selectors import QueueStatus
from queueing.services import (
    SESSION_QUEUE_TOKENS,
    queue_require_active,
    queue_require_active_or_live_hold,
    queue_token_from_session,
    queue_token_to_session,
)


def session_queue_token(request: HttpRequest, concert_id: int) -> str | None:
    return queue_token_from_session(session=request.session, concert_id=concert_id)


def session_queue_token_store(request: HttpRequest, concert_id: int, token: str) -> None:
    queue_token_to_session(session=request.session, concert_id=concert_id, token=token)


def session_queue_token_forget(request: HttpRequest, concert_id: int) -> None:
    tokens = dict(request.session.get(SESSION_QUEUE_TOKENS) or {})
    if tokens.pop(str(concert_id), None) is not None:
        request.session[SESSION_QUEUE_TOKENS] = tokens


def booking_session(request: HttpRequest, concert_id: int) -> QueueStatus | None:
    """The fan's ACTIVE queue session of the concert, or None when they may not book now."""
    try:
        return queue_require_active(
            user_id=request.user.pk, concert_id=concert_id, token=session_queue_token(request, concert_id)
        )
    except QueueNotActive:
        return None


def payment_session_ok(request: HttpRequest, concert_id: int) -> bool:
    """Whether the fan may pay a live hold of theirs now: an ACTIVE queue session, or the live
    hold itself when the queue lost the fan (queueing.services.queue_require_active_or_live_hold)."""
    try:
        queue_require_active_or_live_hold(
            user_id=request.user.pk,
            concert_id=concert_id,
            token=session_queue_token(request, concert_id),
            live_hold=True,
        )
    except QueueNotActive:
        return False
    return True
