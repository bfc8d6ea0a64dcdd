"""Tickets and door check-in: a paid seat comes in once, whichever door scans it, and every other
code is refused with its reason."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from accounts.tests.factories import DEFAULT_PIN, UserFactory
from reservations.models import ReservationSeat
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of
from reservations.tickets import CheckInNotPermitted, ticket_check_in, ticket_code

pytestmark = pytest.mark.django_db


def _paid_tickets(show, *labels):
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, *labels))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    return fan, reservation, list(reservation.seats.order_by("show_seat__number"))


@pytest.fixture
def show(clock):
    return make_show(starts_in=timedelta(days=10))


def test_a_paid_ticket_comes_in_once(show, clock):
    _, reservation, (ticket, other) = _paid_tickets(show, "B-1", "B-2")
    door = organizer_user()

    first = ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=door)
    clock.advance(timedelta(minutes=3))
    again = ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=door)
    companion = ticket_check_in(code=ticket_code(ticket=other), show=show, actor=door)

    assert (first.outcome, again.outcome, companion.outcome) == ("ADMITTED", "ALREADY_USED", "ADMITTED")
    assert again.ticket.checked_in_by == door
    assert again.ticket.checked_in_at == clock.now() - timedelta(minutes=3)
    assert first.ticket.show_seat.label == "B-1" and first.ticket.reservation == reservation


def test_codes_are_typable_and_tolerate_case_and_spaces(show):
    _, _, (ticket,) = _paid_tickets(show, "B-1")
    code = ticket_code(ticket=ticket)

    assert code.startswith(f"{ticket.pk}-") and len(code) <= 32
    assert ticket_check_in(code=f"  {code.upper()}\n", show=show, actor=organizer_user()).admitted


@pytest.mark.security
@pytest.mark.parametrize(
    "forge",
    [
        lambda code: code[:-1] + ("0" if code[-1] != "0" else "1"),  # one digit of the signature changed
        lambda code: str(int(code.split("-")[0]) + 1) + "-" + code.split("-")[1],  # another ticket's id
        lambda code: code.split("-")[0],  # no signature
        lambda code: "",
        lambda code: "٣-" + code.split("-")[1],  # a non-ASCII digit
        lambda code: "9" * 40 + "-" + code.split("-")[1],
    ],
)
def test_a_forged_or_garbled_code_is_not_a_ticket(show, forge):
    _paid_tickets(show, "B-2")
    _, _, (ticket,) = _paid_tickets(show, "B-1")

    check_in = ticket_check_in(code=forge(ticket_code(ticket=ticket)), show=show, actor=organizer_user())

    assert (check_in.outcome, check_in.ticket) == ("INVALID", None)
    assert not ReservationSeat.objects.filter(checked_in_at__isnull=False).exists()


def test_refunded_unpaid_and_other_show_tickets_are_refused(show):
    door = organizer_user()
    fan, reservation, (kept, refunded) = _paid_tickets(show, "B-1", "B-2")
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=[refunded.show_seat_id])
    hold = reservation_hold(user=fan_with_points(), show_id=show.pk, seat_ids=seats_of(show, "C-1"))
    other_show = make_show(starts_in=timedelta(days=11))
    _, _, (elsewhere,) = _paid_tickets(other_show, "B-1")

    answers = [
        ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=door).outcome
        for ticket in (refunded, hold.seats.get(), elsewhere, kept)
    ]

    assert answers == ["REFUNDED", "NOT_PAID", "OTHER_SHOW", "ADMITTED"]


@pytest.mark.security
def test_only_door_staff_may_check_in(show):
    fan, _, (ticket,) = _paid_tickets(show, "B-1")

    for actor in (fan, UserFactory(is_staff=True)):
        with pytest.raises(CheckInNotPermitted):
            ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=actor)

    assert ReservationSeat.objects.get(pk=ticket.pk).checked_in_at is None


@pytest.mark.django_db(transaction=True)
def test_several_doors_scanning_one_ticket_at_once_admit_it_once():
    show = make_show(starts_in=timedelta(days=10))
    _, _, (ticket,) = _paid_tickets(show, "B-1")
    doors = [organizer_user() for _ in range(8)]
    code = ticket_code(ticket=ticket)
    start = threading.Barrier(len(doors))
    outcomes = []

    def scan(door):
        try:
            start.wait()
            outcomes.append(ticket_check_in(code=code, show=show, actor=door).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan, args=(door,)) for door in doors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ADMITTED"] + ["ALREADY_USED"] * 7
    assert ReservationSeat.objects.filter(checked_in_at__isnull=False).count() == 1
