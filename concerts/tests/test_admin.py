from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from concerts.models import Show, ShowSeat, ShowSeatStatus, Venue
from concerts.tests.factories import ConcertFactory, VenueFactory, make_show

pytestmark = pytest.mark.django_db


def local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def show_add_data(concert, starts_at, opens_at, prices: dict[str, str]) -> dict:
    data = {
        "concert": concert.pk,
        "venue": "",
        "starts_at_0": local(starts_at)[:10],
        "starts_at_1": local(starts_at)[11:],
        "booking_opens_at_0": local(opens_at)[:10],
        "booking_opens_at_1": local(opens_at)[11:],
        "booking_closes_at_0": "",
        "booking_closes_at_1": "",
        "grade_prices-TOTAL_FORMS": "4",
        "grade_prices-INITIAL_FORMS": "0",
        "grade_prices-MIN_NUM_FORMS": "0",
        "grade_prices-MAX_NUM_FORMS": "4",
    }
    for index, grade in enumerate(["VIP", "R", "S", "A"]):
        data[f"grade_prices-{index}-grade"] = grade
        data[f"grade_prices-{index}-price"] = prices.get(grade, "")
    return data


def test_organizer_pages_load(clock, org_client):
    show = make_show()
    seat = show.seats.first()
    pages = [
        "/admin/",
        "/admin/concerts/venue/",
        "/admin/concerts/venue/add/",
        f"/admin/concerts/venue/{show.venue_id}/change/",
        "/admin/concerts/concert/",
        "/admin/concerts/concert/add/",
        f"/admin/concerts/concert/{show.concert_id}/change/",
        "/admin/concerts/show/",
        "/admin/concerts/show/add/",
        f"/admin/concerts/show/{show.pk}/change/",
        "/admin/concerts/showseat/",
        f"/admin/concerts/showseat/?show__id__exact={show.pk}&status__exact=AVAILABLE&grade__exact=VIP",
        f"/admin/concerts/showseat/{seat.pk}/change/",
        "/admin/accounts/organization/",
        f"/admin/accounts/organization/{show.concert.organization_id}/change/",
    ]
    for page in pages:
        response = org_client.get(page)
        assert response.status_code == 200, page


def test_organizer_cannot_reach_what_it_does_not_need(clock, org_client):
    show = make_show()
    seat = show.seats.first()
    fan = UserFactory(name="Fan")

    forbidden = [
        "/admin/auth/group/",
        "/admin/accounts/user/add/",
        f"/admin/accounts/user/{fan.pk}/delete/",
        f"/admin/concerts/showseat/{seat.pk}/delete/",
        f"/admin/concerts/show/{show.pk}/delete/",
        "/admin/authtoken/tokenproxy/",
        "/admin/django_celery_beat/periodictask/",
    ]
    for page in forbidden:
        assert org_client.get(page).status_code in (403, 404), page

    response = org_client.post(f"/admin/accounts/user/{fan.pk}/change/", {"name": "Hacked", "is_staff": "on"})
    assert response.status_code == 403
    fan.refresh_from_db()
    assert fan.name == "Fan" and not fan.is_staff

    response = org_client.post(f"/admin/concerts/showseat/{seat.pk}/change/", {"status": "SOLD"})
    assert response.status_code == 403
    seat.refresh_from_db()
    assert seat.status == ShowSeatStatus.AVAILABLE


def test_a_fan_is_kept_out_of_the_admin():
    client = Client()
    client.force_login(UserFactory())

    response = client.get("/admin/concerts/venue/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_organizer_adds_a_venue_with_its_layout(org_client):
    response = org_client.post(
        "/admin/concerts/venue/add/",
        {"name": "새 공연장", "address": "서울", "layout": "B 4 VIP\r\nC-E 5 R\r\n\r\nF 3 a\r\n"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    venue = Venue.objects.get(name="새 공연장")
    assert venue.seats.count() == 4 + 15 + 3
    assert list(venue.seats.filter(number=1).values_list("row", "grade")) == [
        ("B", "VIP"),
        ("C", "R"),
        ("D", "R"),
        ("E", "R"),
        ("F", "A"),
    ]


def test_organizer_changes_a_layout_and_an_unchanged_form_keeps_it(org_client):
    venue = VenueFactory(layout=[("B", 2, "VIP")])
    seat_ids = set(venue.seats.values_list("pk", flat=True))
    page = org_client.get(f"/admin/concerts/venue/{venue.pk}/change/").content.decode()
    assert "B 2 VIP" in page

    org_client.post(f"/admin/concerts/venue/{venue.pk}/change/", {"name": venue.name, "layout": "B 2 VIP"})
    assert set(venue.seats.values_list("pk", flat=True)) == seat_ids

    org_client.post(f"/admin/concerts/venue/{venue.pk}/change/", {"name": venue.name, "layout": "B 2 VIP\nC 3 S"})
    assert venue.seats.count() == 5


@pytest.mark.parametrize(
    "layout", ["", "B ten VIP", "B 3 GOLD", "B 3 VIP\nB 2 R", "D-B 3 R", "B 0 VIP", "A 3 VIP", "[]\nB 3 R"]
)
def test_a_bad_layout_is_a_form_error_not_a_crash(org_client, layout):
    response = org_client.post("/admin/concerts/venue/add/", {"name": "Bad hall", "layout": layout})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Venue.objects.filter(name="Bad hall").exists()


@pytest.fixture
def en_client(org_client):
    """The organizer's admin in English (it speaks Korean unless the browser asks otherwise)."""
    org_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return org_client


HALL_TEXT = "[1층]\nB 6 VIP 1=R 6=R | 3\nC-D 6 R | 3\n[2층 발코니]\n1 4 S 4=A"


def test_organizer_adds_a_venue_with_sections_per_seat_grades_and_aisles(org_client):
    response = org_client.post("/admin/concerts/venue/add/", {"name": "큰 홀", "layout": HALL_TEXT})

    assert response.status_code == 302, response.content.decode()[:2000]
    venue = Venue.objects.get(name="큰 홀")
    assert list(venue.seats.filter(row="B").values_list("section", "number", "grade", "aisle_after")) == [
        ("1층", 1, "R", False),
        ("1층", 2, "VIP", False),
        ("1층", 3, "VIP", True),
        ("1층", 4, "VIP", False),
        ("1층", 5, "VIP", False),
        ("1층", 6, "R", False),
    ]
    assert venue.seats.filter(section="2층 발코니").count() == 4
    # The change page gives the layout back in the same notation.
    form = org_client.get(f"/admin/concerts/venue/{venue.pk}/change/").context["adminform"].form
    assert form.initial["layout"] == HALL_TEXT


def test_a_row_named_like_a_grade_is_an_error_on_the_layout_field_saying_why(en_client, org_client):
    response = en_client.post("/admin/concerts/venue/add/", {"name": "R hall", "layout": "B 4 VIP\nR 4 A"})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["layout"]
    assert (
        "R: a row may not be named like a grade (VIP, R, S, A): its seats would read as R seats" in errors["layout"][0]
    )
    assert not Venue.objects.filter(name="R hall").exists()
    # In Korean too (the admin's language unless the browser asks for English).
    korean = org_client.post(
        "/admin/concerts/venue/add/", {"name": "R hall", "layout": "B 4 VIP\nR 4 A"}, HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert "R: 열 이름을 등급 이름" in korean.context["adminform"].form.errors["layout"][0]


def test_preview_draws_the_entered_layout_without_saving_it(en_client):
    response = en_client.post(
        "/admin/concerts/venue/add/", {"name": "미리보기 홀", "layout": HALL_TEXT, "_preview_layout": "1"}
    )

    assert response.status_code == 200
    assert not Venue.objects.filter(name="미리보기 홀").exists()
    page = response.content.decode()
    assert "Layout preview (entered, not saved yet)" in page and "press Save to keep it" in page
    assert "Please correct the error" not in page  # a preview is not a mistake
    drawing = response.context["layout_preview"]
    assert drawing.total == 22 and drawing.grades == [("VIP", 4), ("R", 14), ("S", 3), ("A", 1)]
    assert [(s.name, s.seats, s.grades) for s in drawing.sections] == [
        ("1층", 18, [("VIP", 4), ("R", 14)]),
        ("2층 발코니", 4, [("S", 3), ("A", 1)]),
    ]
    # Seats 1-3 and 4-6 of a row are apart by more than the step between neighbours: the aisle.
    row_b = [seat for seat in drawing.seats if seat.label.startswith("1층 B-")]
    steps = [b.x - a.x for a, b in zip(row_b, row_b[1:], strict=False)]
    assert steps[2] > steps[0] == steps[1] == steps[3]
    assert 'data-seat="2층 발코니 1-4" data-grade="A"' in page
    # The layout entered is still in the form, ready to save.
    assert response.context["adminform"].form.data["layout"] == HALL_TEXT


def test_a_bad_layout_previewed_shows_the_errors_and_no_drawing(org_client):
    response = org_client.post(
        "/admin/concerts/venue/add/", {"name": "Bad", "layout": "B 4 VIP | 4", "_preview_layout": "1"}
    )

    assert "layout" in response.context["adminform"].form.errors
    assert response.context.get("layout_preview") is None


def test_the_change_page_draws_the_saved_layout_and_says_shows_keep_their_seats(clock, en_client):
    venue = VenueFactory(layout=[("B", 2, "VIP"), ("C", 3, "R")])
    make_show(concert=ConcertFactory(venue=venue), prices={"VIP": 1, "R": 1})

    response = en_client.get(f"/admin/concerts/venue/{venue.pk}/change/")

    page = response.content.decode()
    assert "Layout preview (saved)" in page
    assert page.count('class="seat seat-free grade-') == 5
    assert "never changes the seats of shows already created" in page
    assert "This venue has 1 show, which keeps its seats." in page


def test_organizer_adds_a_show_which_gets_the_venues_seats_and_its_prices(clock, org_client):
    concert = ConcertFactory()
    now = clock.now().replace(microsecond=0)
    starts_at, opens_at = now + timedelta(days=10), now + timedelta(days=1)

    response = org_client.post(
        "/admin/concerts/show/add/", show_add_data(concert, starts_at, opens_at, {"VIP": "150000", "R": "120000"})
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    show = Show.objects.get()
    assert show.venue == concert.venue and show.starts_at == starts_at and show.booking_closes_at == starts_at
    assert show.seats.count() == concert.venue.seats.count() == 7
    assert dict(show.grade_prices.values_list("grade", "price")) == {"VIP": 150_000, "R": 120_000}
    page = org_client.get(f"/admin/concerts/show/{show.pk}/change/").content.decode()
    assert "not on sale (no price)" in page and "CLOSED" in page


def test_a_show_with_its_window_after_the_start_is_a_form_error(clock, org_client):
    concert = ConcertFactory()
    now = clock.now().replace(microsecond=0)

    response = org_client.post(
        "/admin/concerts/show/add/", show_add_data(concert, now + timedelta(days=1), now + timedelta(days=2), {})
    )

    assert response.status_code == 200
    assert not Show.objects.exists() and not ShowSeat.objects.exists()


def test_seat_list_shows_an_expired_hold_as_free_now(clock, org_client):
    show = make_show()
    seat = show.seats.get(row="B", number=1)
    seat.status, seat.held_until = ShowSeatStatus.HELD, clock.now() - timedelta(minutes=1)
    seat.save()

    response = org_client.get(f"/admin/concerts/showseat/?show__id__exact={show.pk}&status__exact=HELD")

    assert response.status_code == 200
    [row] = response.context["cl"].result_list
    assert row.pk == seat.pk and row.current == "AVAILABLE"


def test_organizer_edits_concert_policies(org_client):
    concert = ConcertFactory()
    data = {
        "title": concert.title,
        "artist": concert.artist,
        "description": "",
        "venue": concert.venue_id,
        "show_time": "19:00:00",
        "default_price": "100000",
        "queue_max_waiting": "500",
        "queue_active_size": "10",
        "session_minutes": "15",
        "prequeue_minutes": "30",
        "abandon_after_minutes": "5",
        "admissions_per_minute": "",
        "hold_minutes": "3",
        "seats_per_user": "1",
        "max_payment_attempts": "5",
        "refund_days_before": "3",
        "shows-TOTAL_FORMS": "0",
        "shows-INITIAL_FORMS": "0",
        "shows-MIN_NUM_FORMS": "0",
        "shows-MAX_NUM_FORMS": "0",
    }

    response = org_client.post(f"/admin/concerts/concert/{concert.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    concert.refresh_from_db()
    assert (concert.queue_active_size, concert.seats_per_user, concert.hold_minutes) == (10, 1, 3)
