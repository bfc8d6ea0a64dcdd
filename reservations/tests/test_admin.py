from datetime import timedelta

import pytest

from accounts.tests.factories import DEFAULT_PIN
from points.models import LedgerEntry
from reservations.models import ReservationStatus
from reservations.services import reservation_hold, reservation_pay
from reservations.tests.factories import fan_with_points, make_show, seats_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(clock):
    show = make_show(starts_in=timedelta(days=10))
    fan = fan_with_points(1_000_000, phone="010-4444-0001")
    reservation = reservation_hold(user=fan, show_id=show.pk, seat_ids=seats_of(show, "B-1", "C-1"))
    reservation_pay(user=fan, reservation_id=reservation.pk, pin=DEFAULT_PIN)
    return fan, reservation


def test_organizer_finds_reservations_by_phone_and_status_read_only(org_client, paid):
    _, reservation = paid

    listing = org_client.get("/admin/reservations/reservation/", {"q": "010-4444-0001", "status__exact": "CONFIRMED"})
    detail = org_client.get(f"/admin/reservations/reservation/{reservation.pk}/change/")

    assert listing.status_code == 200 and f">{reservation.pk}<" in listing.content.decode()
    assert detail.status_code == 200
    assert b'name="amount"' not in detail.content  # money fields are read-only
    for page in ["/admin/reservations/paymentattempt/", "/admin/reservations/ticketrefund/"]:
        assert org_client.get(page).status_code == 200
    assert org_client.get("/admin/reservations/reservation/add/").status_code == 403


def test_organizer_refunds_on_the_fans_behalf_through_the_same_service(org_client, paid):
    fan, reservation = paid

    response = org_client.post(
        "/admin/reservations/reservation/",
        {"action": "refund_tickets", "_selected_action": [reservation.pk]},
        follow=True,
    )

    assert response.status_code == 200
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.REFUNDED
    fan.wallet.refresh_from_db()
    assert fan.wallet.balance == 1_000_000
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.TICKET_REFUND).amount == 250_000


def test_a_fan_cannot_reach_the_admin(client, paid):
    fan, _ = paid
    client.force_login(fan)

    response = client.get("/admin/reservations/reservation/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_is_stagegates_in_one_language_with_won_amounts(org_client, paid):
    korean = org_client.get("/admin/reservations/reservation/").content.decode()
    org_client.cookies["django_language"] = "en"
    english = org_client.get("/admin/reservations/reservation/").content.decode()

    assert "Stagegate 관리" in korean and "Django" not in korean.split("<body")[1].split('id="content"')[0]
    assert "250,000원" in korean and ">금액<" in korean.replace("\n", "")
    assert ">예매<" in korean.replace("\n", "") or "예매" in korean.split("<title>")[1].split("</title>")[0]
    assert "Stagegate back-office" in english and "₩250,000" in english
