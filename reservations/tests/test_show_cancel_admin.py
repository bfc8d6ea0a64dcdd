"""The organizer cancels a show from the admin (Show list, action "cancel_shows")."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from concerts.services import organizer_group_sync
from reservations import tasks
from reservations.models import ReservationStatus
from reservations.tests.factories import fan_with_points, make_show
from reservations.tests.test_show_cancel import balance, paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(tasks.send_show_cancelled_notice, "delay", ids.append)
    return ids


def test_organizer_cancels_a_show_after_a_confirmation_and_is_told_whom_to_call(
    clock, org_client, enqueued, mailoutbox
):
    show = make_show(starts_in=timedelta(days=1))
    with_mail = fan_with_points(1_000_000, email="fan@example.com", language="en")
    without_mail = fan_with_points(1_000_000, name="전화팬", phone="010-7777-0001")
    first, _second = paid(show, with_mail, "B-1"), paid(show, without_mail, "C-1")
    action = {"action": "cancel_shows", "_selected_action": [show.pk]}

    asked = org_client.post("/admin/concerts/show/", action)
    show.refresh_from_db()
    assert asked.status_code == 200 and show.cancelled_at is None  # only asked, nothing done yet
    assert "2" in asked.content.decode() and b'name="confirm" value="yes"' in asked.content

    done = org_client.post("/admin/concerts/show/", {**action, "confirm": "yes"}, follow=True)

    page = done.content.decode()
    show.refresh_from_db()
    first.refresh_from_db()
    assert done.status_code == 200 and show.cancelled_at is not None
    assert first.status == ReservationStatus.REFUNDED
    assert balance(with_mail) == balance(without_mail) == 1_000_000
    assert "전화팬 010-7777-0001" in page  # the fan to call
    assert "fan@example.com" not in page
    for refund_id in enqueued:
        tasks.send_show_cancelled_notice(refund_id)
    assert [mail.to for mail in mailoutbox] == [["fan@example.com"]]
    # A cancelled show is read-only in the admin.
    assert b'name="starts_at"' not in org_client.get(f"/admin/concerts/show/{show.pk}/change/").content


def test_staff_without_the_cancel_permission_has_no_cancel_action(clock):
    show = make_show()
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*organizer_group_sync().permissions.exclude(codename="cancel_show"))
    client = Client()
    client.force_login(staff)

    response = client.post(
        "/admin/concerts/show/", {"action": "cancel_shows", "_selected_action": [show.pk], "confirm": "yes"}
    )

    show.refresh_from_db()
    assert show.cancelled_at is None
    assert response.status_code in {200, 302}


def _change_form(show, **changes) -> dict:
    local = {
        name: timezone.localtime(getattr(show, name)) for name in ("starts_at", "booking_opens_at", "booking_closes_at")
    }
    local.update(changes)
    data = {}
    for name, value in local.items():
        data[f"{name}_0"], data[f"{name}_1"] = f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}"
    data.update({"grade_prices-TOTAL_FORMS": "0", "grade_prices-INITIAL_FORMS": "0"})
    return data


def test_moving_the_date_of_a_show_with_sold_tickets_is_refused_with_a_clear_message(clock, org_client):
    show = make_show(starts_in=timedelta(days=10))
    paid(show, fan_with_points(1_000_000), "B-1")
    later = timezone.localtime(show.starts_at) + timedelta(days=1)

    response = org_client.post(f"/admin/concerts/show/{show.pk}/change/", _change_form(show, starts_at=later))

    old_start = show.starts_at
    show.refresh_from_db()
    assert response.status_code == 200 and show.starts_at == old_start
    assert "its date cannot move" in response.content.decode() or "날짜를 옮길 수 없습니다" in response.content.decode()


def test_moving_the_date_of_a_show_without_sales_is_allowed(clock, org_client):
    show = make_show(starts_in=timedelta(days=10))
    later = timezone.localtime(show.starts_at) + timedelta(days=1)

    response = org_client.post(f"/admin/concerts/show/{show.pk}/change/", _change_form(show, starts_at=later))

    show.refresh_from_db()
    assert response.status_code == 302
    assert show.starts_at == later.replace(microsecond=0)
