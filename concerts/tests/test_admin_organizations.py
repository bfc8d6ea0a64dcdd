"""Organizations in the back-office: a staff member sees and changes only their organizations'
venues, concerts, shows, seats, reservations, refunds and waiting rooms; superusers see all; no
staff member gets the list of every fan, wallet or ledger entry."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PIN, OrganizationFactory, UserFactory, default_organization
from concerts.models import Concert, Venue
from queueing.models import QueueMonitor
from reservations.models import ReservationStatus
from reservations.services import reservation_hold, reservation_pay, reservation_refund
from reservations.tests.factories import fan_with_points, make_show, organizer_user, seats_of

pytestmark = pytest.mark.django_db


def _paid(show, phone: str):
    fan = fan_with_points(1_000_000, phone=phone)
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "B-2"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    reservation_refund(actor=fan, reservation_id=reservation.pk, seat_ids=seats_of(show, "B-2"))
    return reservation


@pytest.fixture
def world(clock):
    """Two organizations, each with a show (venue, concert, seats) and a paid, partly refunded
    reservation; the `organizer` fixture works for the first."""
    own = make_show(starts_in=timedelta(days=10))
    other_organization = OrganizationFactory(name="Other promoter")
    other = make_show(starts_in=timedelta(days=10), organization=other_organization)
    return {
        "own": own,
        "other": other,
        "own_reservation": _paid(own, "010-5555-0001"),
        "other_reservation": _paid(other, "010-6666-0002"),
    }


def _listed(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, url
    return {obj.pk for obj in response.context["cl"].result_list}


def _lists(world) -> list[tuple[str, int, int]]:
    """(change list, own row, other organization's row) of every scoped page."""
    own, other = world["own"], world["other"]
    own_res, other_res = world["own_reservation"], world["other_reservation"]
    return [
        ("admin:concerts_venue_changelist", own.venue_id, other.venue_id),
        ("admin:concerts_concert_changelist", own.concert_id, other.concert_id),
        ("admin:concerts_show_changelist", own.pk, other.pk),
        ("admin:concerts_showseat_changelist", own.seats.first().pk, other.seats.first().pk),
        ("admin:reservations_reservation_changelist", own_res.pk, other_res.pk),
        (
            "admin:reservations_paymentattempt_changelist",
            own_res.payment_attempts.get().pk,
            other_res.payment_attempts.get().pk,
        ),
        ("admin:reservations_ticketrefund_changelist", own_res.refunds.get().pk, other_res.refunds.get().pk),
        ("admin:queueing_queuemonitor_changelist", own.concert_id, other.concert_id),
    ]


def test_staff_list_only_their_organizations_rows(world, org_client):
    for changelist, own_pk, other_pk in _lists(world):
        listed = _listed(org_client, reverse(changelist))
        assert own_pk in listed and other_pk not in listed, changelist


def test_a_superuser_lists_every_organizations_rows(world):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for changelist, own_pk, other_pk in _lists(world):
        assert {own_pk, other_pk} <= _listed(client, reverse(changelist)), changelist


def test_staff_cannot_open_another_organizations_pages(world, org_client):
    other, reservation = world["other"], world["other_reservation"]
    pages = [
        reverse("admin:concerts_venue_change", args=[other.venue_id]),
        reverse("admin:concerts_concert_change", args=[other.concert_id]),
        reverse("admin:concerts_show_change", args=[other.pk]),
        reverse("admin:concerts_showseat_change", args=[other.seats.first().pk]),
        reverse("admin:reservations_reservation_change", args=[reservation.pk]),
        reverse("admin:queueing_queuemonitor_change", args=[other.concert_id]),
    ]
    for page in pages:
        response = org_client.get(page)
        # Django's answer for a row that is not there: back to the index, "doesn't exist".
        assert response.status_code == 302 and response["Location"] == reverse("admin:index"), page
    for page in [
        reverse("admin:concerts_concert_month", args=[other.concert_id]),
        reverse("admin:reservations_show_dashboard", args=[other.pk]),
    ]:
        assert org_client.get(page).status_code == 404, page
    assert org_client.get(reverse("admin:reservations_show_dashboard", args=[world["own"].pk])).status_code == 200
    # A filter by another organization's show does not reach its reservations either.
    url = reverse("admin:reservations_reservation_changelist") + f"?show__id__exact={other.pk}"
    assert reservation.pk not in _listed(org_client, url)


def test_staff_cannot_change_another_organizations_rows(world, org_client):
    other = world["other"]

    org_client.post(reverse("admin:concerts_concert_change", args=[other.concert_id]), {"title": "Taken over"})
    for action in ["pause_admission", "flush_queue"]:
        org_client.post(
            reverse("admin:queueing_queuemonitor_changelist"),
            {"action": action, "_selected_action": [other.concert_id]},
        )
    org_client.post(
        reverse("admin:reservations_reservation_changelist"),
        {"action": "refund_tickets", "_selected_action": [world["other_reservation"].pk]},
    )
    org_client.post(
        reverse("admin:concerts_show_changelist"),
        {"action": "cancel_shows", "_selected_action": [other.pk], "confirm": "yes"},
    )

    concert = Concert.objects.get(pk=other.concert_id)
    assert concert.title != "Taken over" and not QueueMonitor.objects.get(pk=concert.pk).queue_paused
    assert world["other_reservation"].__class__.objects.get(pk=world["other_reservation"].pk).status == (
        ReservationStatus.CONFIRMED
    )
    other.refresh_from_db()
    assert other.cancelled_at is None


def test_forms_offer_only_the_staff_members_own_venues_and_concerts(world, org_client):
    own, other = world["own"], world["other"]

    show_form = org_client.get(reverse("admin:concerts_show_add")).context["adminform"].form
    concert_form = org_client.get(reverse("admin:concerts_concert_add")).context["adminform"].form
    month_form = org_client.get(reverse("admin:concerts_concert_month", args=[own.concert_id])).context["form"]

    assert set(show_form.fields["concert"].queryset) == {own.concert}
    assert set(show_form.fields["venue"].queryset) == {own.venue}
    assert set(concert_form.fields["venue"].queryset) == {own.venue}
    assert set(month_form.fields["venue"].queryset) == {own.venue}
    # One organization: nothing to choose, the field is hidden and fixed.
    organization = concert_form.fields["organization"]
    assert organization.widget.is_hidden and organization.disabled
    assert organization.initial == own.concert.organization_id

    posted = org_client.post(
        reverse("admin:concerts_concert_add"),
        {"title": "Sneaky", "artist": "X", "venue": other.venue_id, **_concert_defaults()},
    )
    assert posted.status_code == 200 and "venue" in posted.context["adminform"].form.errors
    assert not Concert.objects.filter(title="Sneaky").exists()


def _concert_defaults() -> dict:
    return {
        "show_time": "19:00",
        "default_price": "100000",
        "queue_max_waiting": "100",
        "queue_active_size": "10",
        "session_minutes": "10",
        "prequeue_minutes": "0",
        "abandon_after_minutes": "5",
        "hold_minutes": "5",
        "seats_per_user": "4",
        "max_payment_attempts": "5",
        "refund_days_before": "3",
        "shows-TOTAL_FORMS": "0",
        "shows-INITIAL_FORMS": "0",
    }


def test_a_new_venue_and_concert_go_to_the_staff_members_organization(world, org_client, organizer):
    other_organization = world["other"].concert.organization
    own_organization = default_organization()

    org_client.post(
        reverse("admin:concerts_venue_add"),
        # A posted other organization is ignored: the only one the member works for is used.
        {"organization": other_organization.pk, "name": "새 홀", "layout": "B 3 VIP"},
    )
    venue = Venue.objects.get(name="새 홀")
    response = org_client.post(
        reverse("admin:concerts_concert_add"),
        {"title": "New tour", "artist": "Band", "venue": venue.pk, **_concert_defaults()},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert venue.organization == own_organization
    assert Concert.objects.get(title="New tour").organization == own_organization
    # Once saved, the organization stays (a superuser may still move a row).
    page = org_client.get(reverse("admin:concerts_venue_change", args=[venue.pk]))
    assert "organization" not in page.context["adminform"].form.fields


def test_a_member_of_several_organizations_chooses_among_their_own(world):
    third = OrganizationFactory(name="Third promoter")
    member = organizer_user()
    third.members.add(member)
    client = Client()
    client.force_login(member)

    form = client.get(reverse("admin:concerts_venue_add")).context["adminform"].form
    listing = client.get(reverse("admin:concerts_concert_changelist"))

    assert set(form.fields["organization"].queryset) == {default_organization(), third}
    assert not form.fields["organization"].widget.is_hidden
    assert "organization" in listing.context["cl"].list_display


def test_staff_see_the_fan_on_their_own_reservations_but_no_list_of_fans_wallets_or_ledgers(world, org_client):
    reservation = world["own_reservation"]

    page = org_client.get(reverse("admin:reservations_reservation_change", args=[reservation.pk])).content.decode()
    index = org_client.get(reverse("admin:index")).content.decode()

    assert reservation.user.phone in page and reservation.user.name in page
    for changelist in [
        "admin:accounts_user_changelist",
        "admin:points_wallet_changelist",
        "admin:points_ledgerentry_changelist",
    ]:
        assert org_client.get(reverse(changelist)).status_code == 403, changelist
        assert reverse(changelist) not in index
    wallet = reservation.user.wallet
    assert org_client.get(reverse("admin:points_wallet_change", args=[wallet.pk])).status_code == 403


def test_staff_see_only_their_own_organization_and_cannot_change_it(world, org_client):
    own_organization = default_organization()

    listed = _listed(org_client, reverse("admin:accounts_organization_changelist"))
    response = org_client.post(
        reverse("admin:accounts_organization_change", args=[own_organization.pk]), {"name": "Renamed"}
    )

    assert listed == {own_organization.pk}
    assert response.status_code == 403
    assert org_client.get(reverse("admin:accounts_organization_add")).status_code == 403


def test_a_superuser_sets_up_an_organization_with_its_staff(world):
    staff = UserFactory(is_staff=True)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("admin:accounts_organization_add"), {"name": "Hall office", "members": [staff.pk]})

    assert response.status_code == 302
    assert list(staff.organizations.values_list("name", flat=True)) == ["Hall office"]


def test_door_staff_check_in_only_at_their_organizations_shows(world):
    door = Client()
    door.force_login(organizer_user())

    shows = door.get(reverse("pages:door-shows")).content.decode()

    assert reverse("pages:door-check-in", args=[world["own"].pk]) in shows
    assert reverse("pages:door-check-in", args=[world["other"].pk]) not in shows
    assert door.get(reverse("pages:door-check-in", args=[world["other"].pk])).status_code == 404
    assert door.post(reverse("pages:door-check-in", args=[world["other"].pk]), {"code": "1-x"}).status_code == 404
