from datetime import timedelta

import factory

from accounts.tests.factories import default_organization
from concerts.models import Concert, Show, Venue
from core.clock import clock


class VenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Venue

    organization = factory.LazyFunction(default_organization)
    name = factory.Sequence(lambda n: f"Queue test hall {n}")


class ConcertFactory(factory.django.DjangoModelFactory):
    """A concert with a small room (most tests want a short line); add a show to put it on sale."""

    class Meta:
        model = Concert

    title = factory.Sequence(lambda n: f"Rush night {n}")
    artist = "Stagegate Band"
    venue = factory.SubFactory(VenueFactory)
    organization = factory.LazyAttribute(lambda concert: concert.venue.organization)
    queue_max_waiting = 50
    queue_active_size = 3
    session_minutes = 20


class ShowFactory(factory.django.DjangoModelFactory):
    """A show whose booking window contains the clock's now (opened an hour ago)."""

    class Meta:
        model = Show

    concert = factory.SubFactory(ConcertFactory)
    venue = factory.LazyAttribute(lambda show: show.concert.venue)
    starts_at = factory.LazyFunction(lambda: clock.now() + timedelta(days=7))
    booking_opens_at = factory.LazyFunction(lambda: clock.now() - timedelta(hours=1))
    booking_closes_at = factory.LazyAttribute(lambda show: show.starts_at)


def concert_on_sale(**fields) -> Concert:
    """A concert with one show open for booking now."""
    return ShowFactory(concert=ConcertFactory(**fields)).concert
