from django.urls import path

from reservations.apis import (
    ReservationDetailApi,
    ReservationListCreateApi,
    ReservationPaymentApi,
    ReservationRefundApi,
)

urlpatterns = [
    path("reservations", ReservationListCreateApi.as_view(), name="reservations"),
    path("reservations/<int:reservation_id>", ReservationDetailApi.as_view(), name="reservation-detail"),
    path("reservations/<int:reservation_id>/payment", ReservationPaymentApi.as_view(), name="reservation-payment"),
    path("reservations/<int:reservation_id>/refund", ReservationRefundApi.as_view(), name="reservation-refund"),
]
