from functools import cached_property

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.exceptions import PinAttemptsLimited
from concerts.apis import VenueOutputSerializer
from concerts.exceptions import ConcertNotFound, ShowNotFound
from concerts.models import Concert, SeatGrade, Show, ShowSeatStatus
from concerts.seat_map import SeatMap, show_list_for_booking, show_seat_map
from concerts.selectors import ShowStatus, concert_get_cached, show_concert_id_cached, show_get_cached
from core.clock import clock
from core.exceptions import NotAuthenticated, ServiceUnavailable, ValidationFailed
from core.pagination import PAGE_PARAMETERS, PageNumberPagination, page_of
from core.schema import error_responses
from core.serializers import BoundedListField
from points.idempotency import HEADER as IDEMPOTENCY_HEADER
from points.idempotency import MAX_LENGTH as IDEMPOTENCY_KEY_MAX
from points.idempotency import idempotency_key_clean
from queueing.authentication import ApiKeyAndQueueTokenAuthentication
from queueing.exceptions import QueueNotActive
from queueing.permissions import QUEUE_CALLER_ATTRIBUTE, HasActiveQueueToken
from queueing.selectors import QueueTokenStatus
from reservations import exceptions as errors
from reservations.models import Reservation
from reservations.selectors import (
    reservation_get_for_guard,
    reservation_get_for_user,
    reservation_list_for_user,
    reservation_payable_until,
    reservation_payment_attempts_left,
    reservation_seconds_left_to_pay,
    ticket_status,
)
from reservations.services import (
    refund_deadline,
    reservation_hold,
    reservation_is_payable,
    reservation_pay,
    reservation_refund,
)
from reservations.tickets import ticket_code, ticket_is_valid

IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=f"1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters (e.g. a UUID). Replaying a key returns "
    "the first answer (success or refusal) and changes nothing again.",
)


class ReservationSeatSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="show_seat_id")
    label = serializers.CharField(source="show_seat.label")
    grade = serializers.CharField(source="show_seat.grade")
    price = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    ticket_code = serializers.SerializerMethodField(
        help_text="A paid seat's ticket: the code its QR carries, checked at the door. Null until paid and "
        "once refunded."
    )
    checked_in_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, ticket) -> str:
        return ticket_status(ticket=ticket)

    def get_ticket_code(self, ticket) -> str | None:
        return ticket_code(ticket=ticket) if ticket_is_valid(ticket=ticket) else None


class ReservationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    booking_number = serializers.CharField()
    status = serializers.CharField()
    show_id = serializers.IntegerField()
    concert_id = serializers.IntegerField(source="show.concert_id")
    concert_title = serializers.CharField(source="show.concert.title")
    show_starts_at = serializers.DateTimeField(source="show.starts_at")
    seats = ReservationSeatSerializer(many=True)
    amount = serializers.IntegerField()
    hold_expires_at = serializers.SerializerMethodField(
        help_text="Until when the hold can be paid: the earlier of its own end and the show's start."
    )
    hold_seconds_left = serializers.SerializerMethodField()
    payment_attempts_left = serializers.SerializerMethodField()
    refund_deadline = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_hold_expires_at(self, reservation: Reservation) -> str:
        return serializers.DateTimeField().to_representation(reservation_payable_until(reservation=reservation))

    def get_hold_seconds_left(self, reservation: Reservation) -> int:
        return reservation_seconds_left_to_pay(reservation=reservation)

    def get_payment_attempts_left(self, reservation: Reservation) -> int:
        return reservation_payment_attempts_left(reservation=reservation)

    def get_refund_deadline(self, reservation: Reservation) -> str:
        return serializers.DateTimeField().to_representation(refund_deadline(reservation))


class ReservationListCreateApi(APIView):
    """GET: my holds and tickets. POST: hold seats (needs an ACTIVE queue token of the concert).

    Holding is the admitted fans' busiest write, and three in four holds in a rush are refused
    by one read (a seat taken a moment before): a hold knows the caller from the API key's cache
    entry (no SQL), as the shows and the seat map do; the services need only the fan's id. The
    list keeps the SQL look-up: fans see their tickets while Redis is down (a hold needs the
    waiting room in Redis anyway)."""

    class InputSerializer(serializers.Serializer):
        show_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        seat_ids = BoundedListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            min_length=1,
            max_length=settings.API_SEAT_IDS_MAX,
        )

    def get_authenticators(self):
        # (No request while the OpenAPI schema is generated: the default scheme, the same key.)
        if self.request is not None and self.request.method == "POST":
            return [ApiKeyAndQueueTokenAuthentication(), SessionAuthentication()]
        return super().get_authenticators()

    def get_permissions(self):
        return [HasActiveQueueToken()] if self.request.method == "POST" else [IsAuthenticated()]

    @cached_property
    def hold_input(self) -> dict:
        """The asked show and seats, validated once: the guard needs the show before the view runs."""
        data = self.InputSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def get_queue_concert_id(self) -> int:
        concert_id = show_concert_id_cached(show_id=self.hold_input["show_id"])
        if concert_id is None:
            raise ValidationFailed(errors={"show_id": ["No such show."]})
        return concert_id

    @extend_schema(
        operation_id="reservations_list",
        summary="My holds and tickets, newest first",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(ReservationOutputSerializer), **error_responses(NotAuthenticated)},
    )
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(reservation_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(ReservationOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="reservations_create",
        summary="Hold seats (all or nothing)",
        request=InputSerializer,
        responses={
            201: ReservationOutputSerializer,
            **error_responses(
                ValidationFailed,
                NotAuthenticated,
                errors.SeatUnavailable,
                errors.SeatLimitExceeded,
                errors.ShowNotBookable,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        reservation = reservation_hold(user=request.user, **self.hold_input)  # with its seats for the answer
        return Response(ReservationOutputSerializer(reservation).data, status=status.HTTP_201_CREATED)


class ReservationDetailApi(APIView):
    @extend_schema(
        operation_id="reservations_retrieve",
        summary="One of my reservations",
        responses={200: ReservationOutputSerializer, **error_responses(NotAuthenticated, errors.ReservationNotFound)},
    )
    def get(self, request: Request, reservation_id: int) -> Response:
        reservation = reservation_get_for_user(user=request.user, reservation_id=reservation_id)
        if reservation is None:
            raise errors.ReservationNotFound()
        return Response(ReservationOutputSerializer(reservation).data)


class ReservationPaymentApi(APIView):
    """Pay a hold with the PIN. A live hold needs the fan's ACTIVE queue token, or, when the queue
    lost the fan's admission (a Redis restart), the live hold itself proves it; a hold that has
    ended answers with its own code (410, 409) whatever the queue says."""

    # The key from its cache entry and the token's place in one Redis round trip, as for a hold
    # (the PIN's hash is then read on its own, a one-column query, instead of the key's row
    # joined to the whole user).
    authentication_classes = [ApiKeyAndQueueTokenAuthentication, SessionAuthentication]
    permission_classes = [HasActiveQueueToken]
    queue_live_hold = False  # set by get_queue_concert_id for the guard

    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(max_length=6)

    class OutputSerializer(serializers.Serializer):
        reservation_id = serializers.IntegerField()
        status = serializers.CharField()
        paid_amount = serializers.IntegerField()
        balance = serializers.IntegerField()

    def get_queue_concert_id(self) -> int | None:
        caller = getattr(self.request, QUEUE_CALLER_ATTRIBUTE, None)  # queueing.authentication
        if caller is not None and caller.status is not None and caller.status.status is QueueTokenStatus.ACTIVE:
            # Admitted, as Redis said a moment ago: the guard would let any reservation of the fan
            # through (a live hold needs an ACTIVE token or proves admission itself; an ended one
            # needs neither), so its read of the reservation is skipped (one statement of ~15 on
            # every payment of a rush). The service answers 404 for a reservation not the fan's.
            return None
        reservation = reservation_get_for_guard(user=self.request.user, reservation_id=self.kwargs["reservation_id"])
        if reservation is None:
            raise errors.ReservationNotFound()
        self.queue_live_hold = reservation_is_payable(reservation=reservation)
        return reservation.show.concert_id if self.queue_live_hold else None

    @extend_schema(
        operation_id="reservations_payment",
        summary="Pay a hold with points",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: OutputSerializer,
            **error_responses(
                ValidationFailed,
                NotAuthenticated,
                errors.ReservationNotFound,
                errors.PaymentInsufficientBalance,
                errors.WrongPin,
                PinAttemptsLimited,
                errors.PaymentAttemptsExceeded,
                errors.HoldExpired,
                errors.AlreadyPaid,
            ),
        },
    )
    def post(self, request: Request, reservation_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = idempotency_key_clean(request.headers.get(IDEMPOTENCY_HEADER))
        result = reservation_pay(
            user=request.user, reservation_id=reservation_id, pin=data.validated_data["pin"], idempotency_key=key
        )
        return Response(self.OutputSerializer(result).data)


class ReservationRefundApi(APIView):
    class InputSerializer(serializers.Serializer):
        seat_ids = BoundedListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            min_length=1,
            max_length=settings.API_SEAT_IDS_MAX,
            required=False,
            help_text="Refund only these seats (tickets); all of them when left out.",
        )

    class OutputSerializer(serializers.Serializer):
        reservation_id = serializers.IntegerField(source="reservation.id")
        status = serializers.CharField(source="reservation.status")
        refunded_amount = serializers.IntegerField(source="refund.amount")
        balance = serializers.IntegerField()

    @extend_schema(
        operation_id="reservations_refund",
        summary="Refund my tickets (all, or the given seats) until the refund deadline",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                ValidationFailed,
                NotAuthenticated,
                errors.ReservationNotFound,
                errors.RefundWindowClosed,
                errors.AlreadyRefunded,
                errors.NotRefundable,
            ),
        },
    )
    def post(self, request: Request, reservation_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = reservation_refund(
            actor=request.user, reservation_id=reservation_id, seat_ids=data.validated_data.get("seat_ids")
        )
        return Response(self.OutputSerializer(result).data)


# ---------------------------------------------------------------------------------------------
# The booking reads: a concert's shows and a show's seats (read by concerts.seat_map), for a fan
# holding an ACTIVE queue token of the concert.
# ---------------------------------------------------------------------------------------------
class GradeOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "GradeAvailability"

    grade = serializers.ChoiceField(choices=SeatGrade.choices)
    price = serializers.IntegerField(help_text="Price in won")
    total_seats = serializers.IntegerField()
    remaining_seats = serializers.IntegerField(help_text="Seats neither held nor sold (expired holds count as free)")


_CONCERT_ID = OpenApiParameter("concert_id", int, OpenApiParameter.PATH, description="Concert id")
_SHOW_ID = OpenApiParameter("show_id", int, OpenApiParameter.PATH, description="Show id")
_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, OpenApiParameter.HEADER, required=False, description="The ETag of a seat map already held"
)
_QUEUE_TOKEN = OpenApiParameter(
    "X-Queue-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="An ACTIVE queue token of the concert (the fan pages keep it in the session instead)",
)


class ShowListApi(APIView):
    authentication_classes = [ApiKeyAndQueueTokenAuthentication]
    permission_classes = [HasActiveQueueToken]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ShowAvailability"

        id = serializers.IntegerField(source="show.id")
        starts_at = serializers.DateTimeField(source="show.starts_at")
        booking_opens_at = serializers.DateTimeField(source="show.booking_opens_at")
        booking_closes_at = serializers.DateTimeField(source="show.booking_closes_at")
        venue = VenueOutputSerializer(source="show.venue")
        status = serializers.ChoiceField(
            choices=ShowStatus.choices,
            help_text="CLOSED outside the booking window or once started; SOLD_OUT when no seat is free",
        )
        total_seats = serializers.IntegerField()
        remaining_seats = serializers.IntegerField()
        grades = GradeOutputSerializer(many=True, help_text="Priced grades, best first")

    def get_concert(self) -> Concert:
        if not hasattr(self, "_concert"):
            self._concert = concert_get_cached(concert_id=self.kwargs["concert_id"])
        return self._concert

    def get_queue_concert_id(self) -> int:
        """The concert this request is about (the booking guard checks its queue token)."""
        return self.get_concert().pk

    @extend_schema(
        operation_id="concert_shows_list",
        summary="A concert's shows with status and remaining seats (total and per grade, with prices)",
        parameters=[_CONCERT_ID, _QUEUE_TOKEN],
        responses={
            200: OutputSerializer(many=True),
            **error_responses(NotAuthenticated, QueueNotActive, ConcertNotFound, ServiceUnavailable),
        },
    )
    def get(self, request: Request, concert_id: int) -> Response:
        shows = show_list_for_booking(concert_id=self.get_concert().pk, now=clock.now())
        return Response(self.OutputSerializer(shows, many=True).data)


class ShowSeatListApi(APIView):
    authentication_classes = [ApiKeyAndQueueTokenAuthentication]
    permission_classes = [HasActiveQueueToken]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ShowSeat"

        id = serializers.IntegerField()
        label = serializers.CharField(help_text='Section, row and number, e.g. "B-7" or "1층 B-7"')
        section = serializers.CharField(help_text='Floor or block, e.g. "1층"; "" in a hall of one section')
        row = serializers.CharField(help_text="Never named like a grade")
        number = serializers.IntegerField()
        aisle_after = serializers.BooleanField(help_text="An aisle follows this seat: maps leave a gap after it")
        grade = serializers.ChoiceField(choices=SeatGrade.choices)
        price = serializers.IntegerField(help_text="Price in won")
        status = serializers.ChoiceField(
            choices=ShowSeatStatus.choices,
            source="effective_status",
            help_text="A hold that has run out reads AVAILABLE",
        )

    def get_show(self) -> Show:
        if not hasattr(self, "_show"):
            self._show = show_get_cached(show_id=self.kwargs["show_id"])
        return self._show

    def get_queue_concert_id(self) -> int:
        """The concert of the show (the booking guard checks its queue token)."""
        return self.get_show().concert_id

    @extend_schema(
        operation_id="show_seats_list",
        summary="Every seat on sale of a show: label, grade, price and status",
        description="The answer carries an ETag: send it back in If-None-Match to get 304 Not Modified "
        "(no body) while the seat map has not changed.",
        parameters=[_SHOW_ID, _QUEUE_TOKEN, _IF_NONE_MATCH],
        responses={
            200: OutputSerializer(many=True),
            304: OpenApiResponse(description="The seat map is the one the ETag names"),
            **error_responses(NotAuthenticated, QueueNotActive, ShowNotFound, ServiceUnavailable),
        },
    )
    def get(self, request: Request, show_id: int) -> HttpResponse:
        # The kept JSON snapshot (concerts.seat_map), not a serializer: the body is the
        # OutputSerializer's fields, built once per change of the show's seats.
        return seat_map_response(show_seat_map(show=self.get_show(), now=clock.now()), request)


def seat_map_response(seat_map: SeatMap, request: HttpRequest) -> HttpResponse:
    """A kept seat map as the answer (seat_map_answer; the API above and the seat page's refresh,
    pages.seats, answer alike)."""
    status, body, headers = seat_map_answer(seat_map, if_none_match=request.headers.get("If-None-Match"))
    return HttpResponse(body, status=status, headers=headers)


def seat_map_answer(seat_map: SeatMap, *, if_none_match: str | None) -> tuple[int, bytes, dict[str, str]]:
    """The status, body and headers of a kept seat map's answer: 304 with no body while the client
    holds this version (If-None-Match), else its JSON; with its ETag either way and revalidated on
    every use. Also the event loop's (reservations.booking_reads)."""
    headers = {"ETag": seat_map.etag, "Cache-Control": "private, no-cache"}
    if if_none_match == seat_map.etag:
        return 304, b"", headers
    return 200, seat_map.body, headers | {"Content-Type": "application/json"}
