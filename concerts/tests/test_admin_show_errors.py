"""A show's booking window in the admin: a mistake is an error on the field that is wrong, in
words, never the database constraint's name."""

from datetime import timedelta

import pytest
from django.utils import timezone

from concerts.tests.factories import ConcertFactory, make_show
from concerts.tests.test_admin import show_add_data

pytestmark = pytest.mark.django_db


def field_errors(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


def split(prefix: str, value) -> dict:
    local = timezone.localtime(value)
    return {f"{prefix}_0": f"{local:%Y-%m-%d}", f"{prefix}_1": f"{local:%H:%M:%S}"}


def test_a_new_show_whose_booking_opens_after_its_start_is_an_error_on_the_opening(clock, org_client):
    now = clock.now().replace(microsecond=0)

    response = org_client.post(
        "/admin/concerts/show/add/",
        show_add_data(ConcertFactory(), now + timedelta(days=1), now + timedelta(days=2), {"VIP": "1000"}),
    )

    errors = field_errors(response)
    assert response.status_code == 200
    assert list(errors) == ["booking_opens_at"], errors
    assert "예매 시작은 공연 시작보다 앞서야 합니다." in errors["booking_opens_at"]
    assert "show_booking_window_before_start" not in response.content.decode()


def test_a_show_whose_booking_closes_after_its_start_is_an_error_on_the_closing(clock, org_client):
    show = make_show()
    data = {
        **split("starts_at", show.starts_at),
        **split("booking_opens_at", show.booking_opens_at),
        **split("booking_closes_at", show.starts_at + timedelta(hours=1)),
        "grade_prices-TOTAL_FORMS": "0",
        "grade_prices-INITIAL_FORMS": "0",
    }

    response = org_client.post(f"/admin/concerts/show/{show.pk}/change/", data)

    errors = field_errors(response)
    assert response.status_code == 200
    assert list(errors) == ["booking_closes_at"], errors
    assert "show_booking_window_before_start" not in response.content.decode()


def test_a_show_whose_booking_opens_after_it_closes_is_an_error_on_the_opening(clock, org_client):
    show = make_show()
    data = {
        **split("starts_at", show.starts_at),
        **split("booking_opens_at", show.starts_at - timedelta(hours=1)),
        **split("booking_closes_at", show.starts_at - timedelta(hours=2)),
        "grade_prices-TOTAL_FORMS": "0",
        "grade_prices-INITIAL_FORMS": "0",
    }

    response = org_client.post(f"/admin/concerts/show/{show.pk}/change/", data)

    assert list(field_errors(response)) == ["booking_opens_at"]
    assert "show_booking_window_before_start" not in response.content.decode()
