from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from concerts.exceptions import ConcertNotFound, ShowNotFound
from concerts.models import Concert, SeatGrade, Show, ShowSeatStatus
from concerts.seat_map import SeatMap, show_list_for_booking, show_seat_map
from concerts.selectors import (
    ShowStatus,
    concert_get_cached,
    concert_list,
    show_get_cached,
)
from core.clock import clock
from core.exceptions import NotAuthenticated, ServiceUnavailable
from core.schema import error_responses
from queueing.authentication import CachedApiKeyAuthentication
from queueing.exceptions import QueueNotActive
from queueing.permissions import HasActiveQueueToken


class VenueOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "VenueSummary"

    id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField(help_text="The name in English; empty when there is none")


class ConcertListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Concert"

        id = serializers.IntegerField()
        title = serializers.CharField()
        title_en = serializers.CharField(help_text="The title in English; empty when there is none")
        artist = serializers.CharField()
        description = serializers.CharField()
        running_minutes = serializers.IntegerField(allow_null=True)
        age_rating = serializers.CharField(help_text="ALL, 7, 12, 15 or 19 (and over); empty when not given")
        poster_url = serializers.SerializerMethodField(help_text="Path of the poster image on this site, or null")
        venue = VenueOutputSerializer()
        booking_opens_at = serializers.DateTimeField(
            allow_null=True, help_text="Earliest opening of the concert's shows (null without shows)"
        )
        booking_closes_at = serializers.DateTimeField(
            allow_null=True, help_text="Latest closing of the concert's shows (null without shows)"
        )
        shows_count = serializers.IntegerField()
        seats_per_user = serializers.IntegerField(help_text="Seats one user may hold or buy per show")
        hold_minutes = serializers.IntegerField(help_text="Time to pay for a hold")

        def get_poster_url(self, concert) -> str | None:
            return concert.poster_url

    @extend_schema(
        operation_id="concerts_list",
        summary="Concerts with their venue and booking window",
        responses={200: OutputSerializer(many=True), **error_responses(NotAuthenticated)},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(concert_list(), many=True).data)


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
    authentication_classes = [CachedApiKeyAuthentication]
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
    authentication_classes = [CachedApiKeyAuthentication]
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
    """A kept seat map as the answer: 304 with no body while the client holds this version
    (If-None-Match), else its JSON; with its ETag either way and revalidated on every use (the
    API above and the seat page's refresh, pages.seats, answer alike)."""
    if request.headers.get("If-None-Match") == seat_map.etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(seat_map.body, content_type="application/json")
    response["ETag"] = seat_map.etag
    response["Cache-Control"] = "private, no-cache"
    return response
