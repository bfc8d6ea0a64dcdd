"""The one place the fan pages ask the waiting room whether a fan may book.

The pages keep a fan's queue tokens in the session, where the queueing app's booking guard reads
them too, through queueing.session (the one place that reads and writes that entry); these
adapters keep the pages' views free of the queueing app's details.
"""

from datetime import datetime

from django.http import HttpRequest

from core.clock import clock
from queueing.exceptions import QueueNotActive
from queueing.selectors import QueueStatus
from queueing.services import queue_require_active, queue_require_active_or_live_hold
from queueing.session import queue_token_forget_from_session, queue_token_from_session, queue_token_to_session
from reservations.selectors import QueueEndReason, queue_end_reason

# What the pages saw of each waiting-room visit: {"<concert id>": {"since": ISO time the token was
# first stored, "admitted": whether a page saw it ACTIVE}}. Redis forgets an ended token at once,
# so this is what later tells "the admitted time ran out" from "away from the waiting room too long".
SESSION_QUEUE_VISITS = "queue_visits"


def session_queue_token(request: HttpRequest, concert_id: int) -> str | None:
    return queue_token_from_session(session=request.session, concert_id=concert_id)


def session_queue_token_store(request: HttpRequest, concert_id: int, token: str) -> None:
    if session_queue_token(request, concert_id) != token:  # a new visit (entering again keeps the token)
        visits = dict(request.session.get(SESSION_QUEUE_VISITS) or {})
        visits[str(concert_id)] = {"since": clock.now().isoformat(), "admitted": False}
        request.session[SESSION_QUEUE_VISITS] = visits
    queue_token_to_session(session=request.session, concert_id=concert_id, token=token)


def session_queue_admitted_mark(request: HttpRequest, concert_id: int) -> None:
    """Remember that a page saw the fan's visit ACTIVE (written once per visit)."""
    visits = dict(request.session.get(SESSION_QUEUE_VISITS) or {})
    visit = visits.get(str(concert_id))
    if isinstance(visit, dict) and not visit.get("admitted"):
        visits[str(concert_id)] = {**visit, "admitted": True}
        request.session[SESSION_QUEUE_VISITS] = visits


def session_queue_end_reason(request: HttpRequest, concert_id: int) -> QueueEndReason:
    """Why the fan's visit of the concert's waiting room ended (reservations.selectors.queue_end_reason)."""
    visit = (request.session.get(SESSION_QUEUE_VISITS) or {}).get(str(concert_id))
    visit = visit if isinstance(visit, dict) else {}
    try:
        since = datetime.fromisoformat(visit["since"])
    except (KeyError, TypeError, ValueError):
        since = None
    return queue_end_reason(
        user=request.user, concert_id=concert_id, since=since, admitted=bool(visit.get("admitted")), now=clock.now()
    )


def session_queue_token_forget(request: HttpRequest, concert_id: int) -> None:
    queue_token_forget_from_session(session=request.session, concert_id=concert_id)
    visits = dict(request.session.get(SESSION_QUEUE_VISITS) or {})
    if visits.pop(str(concert_id), None) is not None:
        request.session[SESSION_QUEUE_VISITS] = visits


def booking_session(request: HttpRequest, concert_id: int) -> QueueStatus | None:
    """The fan's ACTIVE queue session of the concert, or None when they may not book now."""
    try:
        current = queue_require_active(
            user_id=request.user.pk, concert_id=concert_id, token=session_queue_token(request, concert_id)
        )
    except QueueNotActive:
        return None
    session_queue_admitted_mark(request, concert_id)
    return current


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
