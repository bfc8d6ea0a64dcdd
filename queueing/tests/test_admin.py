from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from queueing.selectors import queue_stats
from queueing.services import queue_enter, queue_promote
from queueing.tests.factories import ConcertFactory, ShowFactory, concert_on_sale

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/queueing/queuemonitor/"


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(phone="010-9999-0000", password="admin-pass-42", name="Admin")
    client.force_login(admin)
    return client


def test_waiting_rooms_show_live_numbers_and_policy(staff_client):
    concert = concert_on_sale(queue_active_size=1, queue_max_waiting=77)
    for user_id in (1, 2, 3):
        queue_enter(user_id=user_id, concert_id=concert.pk)

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    row = next(r for r in response.context["cl"].result_list if r.pk == concert.pk)
    admin = response.context["cl"].model_admin
    assert (admin.waiting_now(row), admin.active_now(row), admin.admitted_recently(row)) == (2, 1, 1)
    assert (admin.prequeue_now(row), admin.abandoned_recently(row)) == (0, 0)
    assert "77" in response.content.decode()
    assert staff_client.get(f"{CHANGELIST}{concert.pk}/change/").status_code == 200


def test_waiting_rooms_show_the_pre_queue_and_abandoned_places(staff_client, clock):
    soon = ConcertFactory(prequeue_minutes=30)
    ShowFactory(concert=soon, booking_opens_at=clock.now() + timedelta(minutes=10))
    for user_id in (1, 2, 3):
        queue_enter(user_id=user_id, concert_id=soon.pk)
    on_sale = concert_on_sale(queue_active_size=1, abandon_after_minutes=5)
    for user_id in (1, 2, 3):
        queue_enter(user_id=user_id, concert_id=on_sale.pk)
    clock.advance(timedelta(minutes=5, seconds=1))
    queue_promote(concert_id=on_sale.pk)

    response = staff_client.get(CHANGELIST)

    admin = response.context["cl"].model_admin
    rows = {r.pk: r for r in response.context["cl"].result_list}
    assert (admin.prequeue_now(rows[soon.pk]), admin.waiting_now(rows[soon.pk])) == (3, 0)
    assert (admin.waiting_now(rows[on_sale.pk]), admin.abandoned_recently(rows[on_sale.pk])) == (0, 2)
    change = staff_client.get(f"{CHANGELIST}{soon.pk}/change/").content.decode()
    assert "사전 대기 3명" in change  # the admin speaks Korean by default
    assert 'name="abandon_after_minutes"' in change and 'name="admissions_per_minute"' in change


def test_pause_resume_and_flush_actions(staff_client):
    concert = concert_on_sale(queue_active_size=1)
    for user_id in (1, 2):
        queue_enter(user_id=user_id, concert_id=concert.pk)

    def act(action: str):
        return staff_client.post(CHANGELIST, {"action": action, "_selected_action": [concert.pk]})

    assert act("pause_admission").status_code == 302
    assert queue_stats(concert_id=concert.pk).paused
    act("resume_admission")
    assert not queue_stats(concert_id=concert.pk).paused
    act("flush_queue")
    stats = queue_stats(concert_id=concert.pk)
    assert (stats.waiting, stats.active) == (0, 0)
