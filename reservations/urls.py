from django.urls import path, register_converter

from reservations.apis import (
    ReservationDetailApi,
    ReservationListCreateApi,
    ReservationPaymentApi,
    ReservationRefundApi,
    ShowListApi,
    ShowSeatListApi,
)


class DbIdConverter:
    """A database id: digits that fit a bigint (longer numbers are a 404, not a database error)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DbIdConverter, "dbid")

urlpatterns = [
    path("concerts/<dbid:concert_id>/shows", ShowListApi.as_view(), name="concert-show-list"),
    path("shows/<dbid:show_id>/seats", ShowSeatListApi.as_view(), name="show-seat-list"),
    path("reservations", ReservationListCreateApi.as_view(), name="reservations"),
    path("reservations/<int:reservation_id>", ReservationDetailApi.as_view(), name="reservation-detail"),
    path("reservations/<int:reservation_id>/payment", ReservationPaymentApi.as_view(), name="reservation-payment"),
    path("reservations/<int:reservation_id>/refund", ReservationRefundApi.as_view(), name="reservation-refund"),
]
