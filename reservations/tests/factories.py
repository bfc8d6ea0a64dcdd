"""Test data for holds and payments: a priced show open for booking, fans with points."""

import itertools
from datetime import timedelta

from accounts.models import Organization, User
from accounts.tests.factories import UserFactory, default_organization
from concerts.models import Concert, Show, ShowSeat
from concerts.services import organizer_group_sync, show_create, venue_create
from core.clock import clock
from points.services import wallet_charge

_venue_numbers = itertools.count(1)

DEFAULT_ROWS = [("B", 10, "VIP"), ("C", 10, "R")]
DEFAULT_PRICES = {"VIP": 150_000, "R": 100_000}


def make_show(
    *,
    rows=DEFAULT_ROWS,
    prices=DEFAULT_PRICES,
    starts_in: timedelta = timedelta(days=30),
    organization: Organization | None = None,
    **policies,
) -> Show:
    """A show starting `starts_in` from the clock's now, booking open since an hour ago, of a
    concert and venue of `organization` (default: the test organization, the `organizer`'s)."""
    now = clock.now()
    organization = organization or default_organization()
    venue = venue_create(organization=organization, name=f"Test hall {next(_venue_numbers)}", rows=rows)
    concert = Concert.objects.create(
        title="Test concert", artist="Test artist", organization=venue.organization, venue=venue, **policies
    )
    return show_create(
        concert=concert,
        starts_at=now + starts_in,
        booking_opens_at=now - timedelta(hours=1),
        prices=prices,
    )


def seats_of(show: Show, *labels: str) -> list[int]:
    """Seat ids by label ("B-1"), in the order given."""
    by_label = {seat.label: seat.pk for seat in ShowSeat.objects.filter(show=show)}
    return [by_label[label] for label in labels]


def fan_with_points(points: int = 1_000_000, **fields) -> User:
    user = UserFactory(**fields)
    remaining = points
    while remaining > 0:
        amount = min(remaining, 1_000_000)
        wallet_charge(user=user, amount=amount)
        remaining -= amount
    return user


def organizer_user(*, organization: Organization | None = None, **fields) -> User:
    """A staff member in the Organizers group (refunds on a fan's behalf, cancels shows, doors)
    working for `organization` (default: the one every test venue and concert belongs to)."""
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(organizer_group_sync())
    (organization or default_organization()).members.add(user)
    return user
