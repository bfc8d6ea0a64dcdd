"""Migration 0006: the holds made before it learn how many seats they were held with, so that
paying one still tells a seat lost to a takeover from none lost."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import DEFAULT_PIN
from reservations.models import Reservation
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db(transaction=True)  # the test migrates the schema back and forth

BEFORE, AFTER = ("reservations", "0005_confirmation_due"), ("reservations", "0006_seats_held_with")


def migrate_to(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def test_holds_made_before_the_migration_get_their_seat_count_and_stay_payable(clock):
    show = make_show()
    fan = fan_with_points()
    two = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    one = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "C-1"))

    migrate_to(BEFORE)
    migrate_to(AFTER)

    counts = dict(Reservation.objects.filter(pk__in=[two.pk, one.pk]).values_list("pk", "seats_held_with"))
    assert counts == {two.pk: 2, one.pk: 1}
    assert reservation_pay(user=fan, reservation_id=two.pk, pin=DEFAULT_PIN).status == "CONFIRMED"
