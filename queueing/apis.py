from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import (
    KEYWORD,
    ApiKeyCaller,
    DeferredTokenAuthentication,
    api_key_caller_id,
    api_key_from_authorization,
)
from concerts.exceptions import ConcertNotFound
from core.exception_handlers import error_response
from core.exceptions import ApplicationError, NotAuthenticated, RateLimited, ServiceUnavailable
from core.schema import error_responses
from core.throttling import client_ip
from queueing.events import status_event, ticket_entry_data
from queueing.exceptions import BookingClosed, QueueFull, TokenNotFound
from queueing.permissions import QUEUE_TOKEN_HEADER
from queueing.selectors import QueueStatus, QueueTokenStatus, queue_status, queue_status_data, queue_status_for_api_key
from queueing.services import (
    queue_enter,
    queue_enter_for_api_key,
    queue_enter_with_entry_ticket,
    queue_leave,
    queue_stream_ticket_caller,
)
from queueing.session import queue_token_to_session

# The deferred authenticator checks the same `Authorization: Token` (or the session) as the rest.
_AUTH = [{"tokenAuth": []}, {"cookieAuth": []}]
_QUEUE_TOKEN_META = "HTTP_" + QUEUE_TOKEN_HEADER.upper().replace("-", "_")
_QUEUE_TOKEN = OpenApiParameter(
    QUEUE_TOKEN_HEADER, str, OpenApiParameter.HEADER, required=True, description="The token from entering the room"
)


class QueueStatusOutputSerializer(serializers.Serializer):
    """Documents the answer; the views build it with queue_status_data (same fields)."""

    class Meta:
        ref_name = "QueueToken"

    token = serializers.CharField(help_text=f"Send it back as {QUEUE_TOKEN_HEADER}")
    concert_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[(s.value, s.value) for s in QueueTokenStatus],
        help_text="PREQUEUE: entered before booking opened, placed in a random order at the opening; "
        "WAITING: in line, first come, first served; ACTIVE: admitted to booking",
    )
    position = serializers.IntegerField(
        allow_null=True, help_text="WAITING: place in line, 1 = next (null while PREQUEUE)"
    )
    ahead = serializers.IntegerField(allow_null=True, help_text="WAITING: users ahead")
    behind = serializers.IntegerField(allow_null=True, help_text="WAITING: users in line after this one")
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="WAITING: from the admission rate seen in the last minute"
    )
    estimated_wait_low_seconds = serializers.IntegerField(
        allow_null=True,
        help_text="WAITING: the wait likely lies between low and high (the rate is counted from few admissions)",
    )
    estimated_wait_high_seconds = serializers.IntegerField(
        allow_null=True, help_text="WAITING: upper end of that range; null when it cannot be told yet"
    )
    active_until = serializers.DateTimeField(allow_null=True, help_text="ACTIVE: when the session ends")
    active_seconds_left = serializers.IntegerField(allow_null=True, help_text="ACTIVE: seconds left")
    refresh_after_seconds = serializers.IntegerField(
        help_text="Ask again after this many seconds (add some jitter): about 2 s near the front of the line, "
        "longer further back (at most 120 s by default); PREQUEUE: by the opening. A WAITING fan who does not "
        "ask for abandon_after_minutes (default 5) loses the place"
    )
    seconds_until_open = serializers.IntegerField(
        allow_null=True, help_text="PREQUEUE: seconds until booking opens (and the pre-queue is shuffled)"
    )


def _caller_id(request: Request) -> int:
    """The caller's user id; an API key is resolved from the Redis cache (SQL on a miss)."""
    if isinstance(request.user, ApiKeyCaller):
        return api_key_caller_id(request.user.api_key)
    return request.user.pk


class LeanApiView(APIView):
    """An APIView whose `lean_methods`, when the caller sends `Authorization: Token <key>`, are
    served without DRF's request/response machinery.

    Polling and entering are the busiest calls of an on-sale rush, and DRF's Request wrapping,
    content negotiation, authenticator and permission objects and Response rendering cost about
    three times the CPU of the queue work itself (measured: ~270 us against ~85 us per poll;
    `scripts/bench-queue` measures the whole request). The lean path gives the same answers:
    the same services, the same rate limits (queueing.enter_limits), the body from
    queue_status_data, errors shaped as core.exception_handlers shapes them (a view with DRF
    throttle_classes is always served by DRF). Everything else
    (session callers, malformed headers, other methods) goes through DRF as usual; the DRF
    methods (`get`, `post`) stay the documented, equivalent implementation.
    """

    lean_methods: frozenset[str] = frozenset()

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # A view given throttles (DRF's) is served by DRF, so they are never skipped.
        if request.method in self.lean_methods and not self.throttle_classes:
            api_key = _plain_api_key(request)
            if api_key is not None:
                try:
                    body, status_code = getattr(self, f"lean_{request.method.lower()}")(api_key, request, **kwargs)
                except ApplicationError as exc:
                    return error_response(exc, challenge=KEYWORD)
                return JsonResponse(body, status=status_code)
        return super().dispatch(request, *args, **kwargs)


def _plain_api_key(request: HttpRequest) -> str | None:
    """The key of a well-formed `Authorization: Token <key>` header, else None."""
    return api_key_from_authorization(request.META.get("HTTP_AUTHORIZATION", ""))


class QueueTokenCreateApi(LeanApiView):
    """Enter a concert's waiting room (or get back the token already held there).

    Before booking opens (within the concert's prequeue_minutes) the answer is PREQUEUE with
    seconds_until_open and no position; at the opening the pre-queue is placed in a random order
    ahead of later arrivals. `Authorization: Token` is resolved from a Redis cache
    (accounts.authentication), not SQL. Rate limited per user and per client address, per concert
    (counted by the enter script: queueing.enter_limits).
    """

    authentication_classes = [DeferredTokenAuthentication, SessionAuthentication]
    lean_methods = frozenset({"POST"})

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The concert page's button: its signed entry ticket names the fan (and stands for the
        # form's CSRF token). Served by the event loop behind HAProxy (queueing.entering); here
        # the same answer, for a server without it.
        ticket = request.GET.get("ticket")
        if request.method == "POST" and ticket is not None and _plain_api_key(request) is None:
            try:
                entry = queue_enter_with_entry_ticket(
                    ticket=ticket, concert_id=kwargs["concert_id"], client_ip=client_ip(request)
                )
            except ApplicationError as exc:
                return error_response(exc, challenge=KEYWORD)
            return JsonResponse(ticket_entry_data(entry), status=_enter_status(entry.place))
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="queue_tokens_create",
        auth=_AUTH,
        summary="Enter the waiting room",
        request=None,
        responses={
            201: OpenApiResponse(
                QueueStatusOutputSerializer, description="A new token (PREQUEUE before booking opens)"
            ),
            200: OpenApiResponse(QueueStatusOutputSerializer, description="The token already held, same place"),
            **error_responses(
                NotAuthenticated, ConcertNotFound, BookingClosed, RateLimited, QueueFull, ServiceUnavailable
            ),
        },
        description="409 BOOKING_CLOSED carries `prequeue_opens_at` (ISO 8601, or null) when the pre-queue "
        "opens later. 429 RATE_LIMITED and 503 QUEUE_FULL carry `retry_after_seconds` and a Retry-After header. "
        "The concert page's button sends neither a key nor a session: its ?ticket= names the fan, and the "
        "answer adds `events_url`, the place's event stream (GET /queue-tokens/current/events with a ticket).",
        parameters=[
            OpenApiParameter(
                "ticket",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="The concert page's signed entry ticket, instead of a key or a session",
            ),
        ],
    )
    def post(self, request: Request, concert_id: int) -> Response:
        if isinstance(request.user, ApiKeyCaller):
            current = queue_enter_for_api_key(
                api_key=request.user.api_key, concert_id=concert_id, client_ip=client_ip(request)
            )
        else:
            current = queue_enter(user_id=request.user.pk, concert_id=concert_id, client_ip=client_ip(request))
        if isinstance(request.successful_authenticator, SessionAuthentication):
            queue_token_to_session(session=request.session, concert_id=concert_id, token=current.token)
        return Response(queue_status_data(current), status=_enter_status(current))

    def lean_post(self, api_key: str, request: HttpRequest, concert_id: int) -> tuple[dict, int]:
        current = queue_enter_for_api_key(api_key=api_key, concert_id=concert_id, client_ip=client_ip(request))
        return queue_status_data(current), _enter_status(current)


def _enter_status(current: QueueStatus) -> int:
    return status.HTTP_201_CREATED if current.created else status.HTTP_200_OK


class QueueTokenCurrentApi(LeanApiView):
    """Where I stand (GET, the hottest path: no SQL, one Redis round trip) and leaving (DELETE).

    `Authorization: Token` is resolved from a Redis cache (accounts.authentication), not SQL.
    """

    authentication_classes = [DeferredTokenAuthentication, SessionAuthentication]
    lean_methods = frozenset({"GET"})

    @extend_schema(
        operation_id="queue_tokens_current",
        auth=_AUTH,
        summary="Where I stand in the waiting room",
        parameters=[_QUEUE_TOKEN],
        responses={
            200: QueueStatusOutputSerializer,
            **error_responses(NotAuthenticated, TokenNotFound, ServiceUnavailable),
        },
    )
    def get(self, request: Request) -> Response:
        token = request.headers.get(QUEUE_TOKEN_HEADER)
        if isinstance(request.user, ApiKeyCaller):
            current = queue_status_for_api_key(api_key=request.user.api_key, token=token)
        else:
            current = queue_status(user_id=request.user.pk, token=token)
        return Response(queue_status_data(current))

    def lean_get(self, api_key: str, request: HttpRequest) -> tuple[dict, int]:
        current = queue_status_for_api_key(api_key=api_key, token=request.META.get(_QUEUE_TOKEN_META))
        return queue_status_data(current), status.HTTP_200_OK

    @extend_schema(
        operation_id="queue_tokens_leave",
        auth=_AUTH,
        summary="Leave the waiting room (the place goes to the next in line at once)",
        parameters=[_QUEUE_TOKEN],
        responses={204: None, **error_responses(NotAuthenticated, TokenNotFound, ServiceUnavailable)},
    )
    def delete(self, request: Request) -> Response:
        queue_leave(user_id=_caller_id(request), token=request.headers.get(QUEUE_TOKEN_HEADER))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _EventStreamNegotiation(BaseContentNegotiation):
    """An EventSource asks for `Accept: text/event-stream`, which DRF's JSON-only negotiation
    refused (406) before the view ran: the view answers the stream itself, and a refusal is JSON
    whatever the client accepts, as the event loop's are."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class QueueTokenEventsApi(APIView):
    """Where I stand, as Server-Sent Events (queueing.events). Behind HAProxy this path is served
    by the ASGI pool, which keeps the stream open and sends a status every refresh_after_seconds
    until ACTIVE. Served here (gunicorn cannot hold a stream open) it sends one status event and
    ends; an EventSource then reconnects after the event's `retry`, which is polling in the
    stream's format. The caller: an API key, the waiting page's ?ticket=, or the session."""

    authentication_classes = [DeferredTokenAuthentication, SessionAuthentication]
    permission_classes = []  # a ticket names its caller itself: get() refuses a call with none
    content_negotiation_class = _EventStreamNegotiation

    @extend_schema(
        operation_id="queue_tokens_current_events",
        auth=_AUTH,
        summary="Where I stand in the waiting room, pushed as Server-Sent Events",
        description="`text/event-stream`: `event: status` with the body of GET /queue-tokens/current, at once "
        "and then every refresh_after_seconds, until the status is ACTIVE (the stream then ends); "
        "`event: error` with {code, message} (TOKEN_NOT_FOUND, SERVICE_UNAVAILABLE) ends it too. The queue "
        "token goes in X-Queue-Token or, for an EventSource, in ?token=. A browser's EventSource on the fan "
        "pages sends neither a key nor a token: the waiting page's ?ticket= names both.",
        parameters=[
            OpenApiParameter(QUEUE_TOKEN_HEADER, str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("token", str, OpenApiParameter.QUERY, required=False, description="The queue token"),
            OpenApiParameter(
                "ticket",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="The waiting page's signed stream ticket, instead of a key and a token",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(description="Status events (see above)"),
            **error_responses(NotAuthenticated, TokenNotFound, ServiceUnavailable),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        token = request.headers.get(QUEUE_TOKEN_HEADER) or request.query_params.get("token")
        ticket = request.query_params.get("ticket")
        if isinstance(request.user, ApiKeyCaller):
            current = queue_status_for_api_key(api_key=request.user.api_key, token=token)
        elif ticket is not None:
            user_id, token = queue_stream_ticket_caller(ticket=ticket)
            current = queue_status(user_id=user_id, token=token)
        elif request.user.is_authenticated:
            current = queue_status(user_id=request.user.pk, token=token)
        else:
            raise NotAuthenticated()
        return HttpResponse(status_event(current), content_type="text/event-stream")
