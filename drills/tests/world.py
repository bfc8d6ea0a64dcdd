"""The drills' world: a concert on sale at the 50-seat venue and fans with charged wallets and
API tokens, written through the services into the (committed) test database."""

import io
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from accounts.tests.factories import DEFAULT_PIN, UserFactory, default_organization
from concerts.models import Concert, Show, Venue
from concerts.services import show_create, venues_seed
from core.clock import clock
from drills.burst import Fan, QueueSampler
from points.services import wallet_charge

SMALL_VENUE = "항해 콘서트장"  # 50 seats
PRICES = {"VIP": 150_000, "R": 120_000, "S": 100_000, "A": 80_000}


@dataclass
class DrillWorld:
    concert: Concert
    show: Show
    fans: list[Fan]
    pin: str


def drill_world(*, fans: int, active_size: int) -> DrillWorld:
    venues_seed(organization=default_organization())
    venue = Venue.objects.get(name=SMALL_VENUE)
    concert = Concert.objects.create(
        title="Drill", artist="Drillers", organization=venue.organization, venue=venue, queue_active_size=active_size
    )
    now = clock.now()
    show = show_create(
        concert=concert, starts_at=now + timedelta(days=10), booking_opens_at=now - timedelta(minutes=5), prices=PRICES
    )
    people = []
    for _ in range(fans):
        user = UserFactory()
        wallet_charge(user=user, amount=1_000_000)
        people.append(Fan(user_id=user.pk, api_key=Token.objects.create(user=user).key))
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    return DrillWorld(concert=concert, show=show, fans=people, pin=DEFAULT_PIN)


def room_sampler(concert_id: int) -> QueueSampler:
    """A sampler of the concert's waiting room where this run keeps it: the run's Redis Cluster
    when the tests run on one, else its plain Redis."""
    return QueueSampler(
        settings.REDIS_CLUSTER_URL or settings.REDIS_URL,
        settings.REDIS_KEY_PREFIX,
        concert_id,
        cluster=bool(settings.REDIS_CLUSTER_URL),
    )
