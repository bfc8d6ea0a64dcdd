from django.db.models import Prefetch, QuerySet

from accounts.models import User
from reservations.models import Reservation, ReservationSeat


def reservation_list_for_user(*, user: User) -> QuerySet[Reservation]:
    """The fan's holds and tickets, newest first, with what the answers show prefetched."""
    return (
        Reservation.objects.filter(user=user)
        .select_related("show__concert", "show__venue")
        .prefetch_related(Prefetch("seats", queryset=ReservationSeat.objects.select_related("show_seat")))
        .order_by("-created_at", "-id")
    )


def reservation_get_for_user(*, user: User, reservation_id: int) -> Reservation | None:
    return reservation_list_for_user(user=user).filter(pk=reservation_id).first()
