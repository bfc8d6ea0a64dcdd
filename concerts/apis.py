"""The concerts' public catalogue. The booking reads (a concert's shows, a show's seats) need an
active queue token, so they sit on the booking path, in reservations.apis."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from concerts.selectors import concert_list
from core.exceptions import NotAuthenticated
from core.schema import error_responses


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
