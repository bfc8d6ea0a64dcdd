from datetime import timedelta

import factory

from accounts.tests.factories import default_organization
from concerts.models import Concert, Show, Venue
from concerts.services import show_create, venue_layout_generate
from core.clock import clock

# A small layout: A 2 VIP, B 3 R, C 2 S  (7 seats)
SMALL_LAYOUT = [("B", 2, "VIP"), ("C", 3, "R"), ("D", 2, "S")]


class VenueFactory(factory.django.DjangoModelFactory):
    """A venue with a seat layout (`layout=[(row, seats, grade), ...]`, default SMALL_LAYOUT)."""

    class Meta:
        model = Venue
        skip_postgeneration_save = True

    organization = factory.LazyFunction(default_organization)
    name = factory.Sequence(lambda n: f"Venue {n}")

    @factory.post_generation
    def layout(obj, create, extracted, **kwargs):
        if create:
            venue_layout_generate(venue=obj, rows=SMALL_LAYOUT if extracted is None else extracted)


class ConcertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Concert

    title = factory.Sequence(lambda n: f"Concert {n}")
    artist = "The Testers"
    venue = factory.SubFactory(VenueFactory)
    organization = factory.LazyAttribute(lambda concert: concert.venue.organization)


def make_show(
    *,
    concert: Concert | None = None,
    opens_in: timedelta = timedelta(hours=-1),
    starts_in: timedelta = timedelta(days=7),
    prices: dict[str, int] | None = None,
    **kwargs,
) -> Show:
    """A show through the service (seats copied from the venue), open for booking by default;
    every grade of SMALL_LAYOUT priced unless `prices` is given."""
    now = clock.now()
    return show_create(
        concert=concert or ConcertFactory(),
        starts_at=now + starts_in,
        booking_opens_at=now + opens_in,
        prices={"VIP": 150_000, "R": 120_000, "S": 100_000} if prices is None else prices,
        **kwargs,
    )
