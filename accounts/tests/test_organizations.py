"""Organizations: whom a staff member acts for (accounts.selectors), and the services that act for
a staff member refusing another organization's venues, concerts and shows."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.exceptions import NotOrganizationMember
from accounts.models import Organization
from accounts.selectors import user_organization_ids
from accounts.tests.factories import DEFAULT_PIN, OrganizationFactory, UserFactory, default_organization
from concerts.models import Concert, Show
from concerts.services import month_shows_seed, organizer_group_sync, show_create, venue_create
from concerts.tests.factories import ConcertFactory, VenueFactory
from core.clock import clock as the_clock
from core.exceptions import ValidationFailed
from reservations.services import reservation_hold, reservation_pay, reservation_refund, show_cancel
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of
from reservations.tickets import CheckInNotPermitted, ticket_check_in, ticket_code

pytestmark = pytest.mark.django_db

LAYOUT = [("B", 2, "VIP")]


@pytest.fixture
def other_organization():
    return OrganizationFactory(name="Other promoter")


def test_a_member_acts_for_their_organizations_and_a_superuser_for_all(other_organization):
    member = organizer_user()
    superuser = UserFactory(is_staff=True, is_superuser=True)

    assert user_organization_ids(user=member) == [default_organization().pk]
    assert user_organization_ids(user=superuser) is None
    member.is_active = False
    assert user_organization_ids(user=member) == []


def test_the_organizers_group_keeps_working_while_only_one_organization_exists():
    concert = ConcertFactory()  # the only organization
    unassigned = UserFactory(is_staff=True)
    unassigned.groups.add(organizer_group_sync())
    client = Client()
    client.force_login(unassigned)

    alone = client.get(reverse("admin:concerts_concert_changelist"))
    OrganizationFactory()  # a second organization: whom the member works for must be said
    after = client.get(reverse("admin:concerts_concert_changelist"))

    assert list(alone.context["cl"].result_list) == [concert] and not list(alone.context["messages"])
    assert user_organization_ids(user=unassigned) == []
    assert list(after.context["cl"].result_list) == []
    assert "소속된 주최사가 없습니다" in " ".join(str(m) for m in after.context["messages"])


def test_a_concert_or_show_uses_only_a_venue_of_its_organization(other_organization):
    own_venue = VenueFactory()
    other_venue = VenueFactory(organization=other_organization)
    concert = ConcertFactory(venue=own_venue)

    bad_concert = Concert(title="X", artist="Y", organization=concert.organization, venue=other_venue)
    with pytest.raises(ValidationError) as concert_error:
        bad_concert.full_clean()
    now = the_clock.now()
    show = Show(concert=concert, venue=other_venue, starts_at=now, booking_opens_at=now - timedelta(days=1))
    show.booking_closes_at = now
    with pytest.raises(ValidationError) as show_error:
        show.full_clean()
    with pytest.raises(ValidationFailed) as service_error:
        show_create(concert=concert, venue=other_venue, starts_at=now, booking_opens_at=now - timedelta(days=1))

    assert "venue" in concert_error.value.message_dict and "venue" in show_error.value.message_dict
    assert "venue" in service_error.value.extra["errors"]
    assert not Show.objects.exists()


def test_a_superuser_cannot_move_a_concert_away_from_its_shows_venues(other_organization, clock):
    show = make_show()
    concert = show.concert
    concert.organization = other_organization
    concert.venue = VenueFactory(organization=other_organization)

    with pytest.raises(ValidationError) as error:
        concert.full_clean()

    assert "organization" in error.value.message_dict


def test_a_superuser_cannot_move_a_venue_away_from_its_concerts(other_organization):
    venue = ConcertFactory().venue
    venue.organization = other_organization

    with pytest.raises(ValidationError) as error:
        venue.full_clean()

    assert "organization" in error.value.message_dict


def test_catalog_services_refuse_a_staff_member_of_another_organization(other_organization, clock):
    outsider = organizer_user(organization=other_organization)
    concert = ConcertFactory()
    now = clock.now()

    with pytest.raises(NotOrganizationMember):
        venue_create(organization=default_organization(), name="Hall", rows=LAYOUT, actor=outsider)
    with pytest.raises(NotOrganizationMember):
        show_create(concert=concert, starts_at=now + timedelta(days=3), booking_opens_at=now, actor=outsider)
    with pytest.raises(NotOrganizationMember):
        month_shows_seed(concert=concert, year=now.year + 1, month=1, actor=outsider)

    member = organizer_user()
    show = show_create(concert=concert, starts_at=now + timedelta(days=3), booking_opens_at=now, actor=member)
    assert show.concert == concert
    assert venue_create(organization=default_organization(), name="Hall", rows=LAYOUT, actor=member).seats.count() == 2


def test_sales_services_refuse_a_staff_member_of_another_organization(other_organization, clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    ticket = reservation.seats.get()
    outsider = organizer_user(organization=other_organization)

    with pytest.raises(NotOrganizationMember):
        reservation_refund(actor=outsider, reservation_id=reservation.pk, on_behalf=True)
    with pytest.raises(NotOrganizationMember):
        show_cancel(show=show, actor=outsider)
    with pytest.raises(CheckInNotPermitted):
        ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=outsider)

    ticket.refresh_from_db()
    show.refresh_from_db()
    assert ticket.active and ticket.checked_in_at is None and show.cancelled_at is None
    assert ticket_check_in(code=ticket_code(ticket=ticket), show=show, actor=organizer_user()).admitted


def test_no_organization_is_made_for_an_empty_database():
    # The migration makes the default organization only for rows that were already there.
    assert not Organization.objects.exists()
