"""Pages drawn once for every fan and filled in per fan (pages.shells): the concert page's body per
second, the site header per language and kind of visitor. Each fan sees only their own values."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from pages.shells import hole, shell_fill
from pages.tests.helpers import text_of
from points.services import wallet_charge
from queueing.services import queue_entry_ticket_caller
from reservations.services import reservation_hold
from reservations.tests.factories import make_show, seats_of

pytestmark = pytest.mark.django_db


def _entry_ticket(page: str) -> str:
    url = html.unescape(re.search(r'data-enter-url="([^"]+)"', page).group(1))
    return parse_qs(url.split("?", 1)[1])["ticket"][0]


def _csrf_tokens(page: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', page))


def test_the_concert_page_is_drawn_once_a_second_for_every_fan_each_seeing_their_own_values(clock, settings):
    settings.CONCERT_PAGE_KEEP_SECONDS = 1
    show = make_show(seats_per_user=2)
    url = reverse("pages:concert-detail", args=[show.concert_id])
    first, second = UserFactory(name="첫팬"), UserFactory(name="둘째팬")
    wallet_charge(user=second, amount=70_000, idempotency_key="charge-second")
    first_client, second_client = Client(), Client()
    first_client.force_login(first)
    second_client.force_login(second)

    first_page = text_of(first_client.get(url))
    reservation_hold(user=UserFactory(), show_id=show.pk, seat_ids=seats_of(show, "B-1"))
    second_page = text_of(second_client.get(url))  # the same second: the body as drawn for the first

    assert "20 / 20" in first_page and "20 / 20" in second_page
    assert "첫팬" in first_page and "첫팬" not in second_page and "둘째팬" in second_page
    assert "70,000원" in second_page and "70,000원" not in first_page
    for page, fan in ((first_page, first), (second_page, second)):
        assert queue_entry_ticket_caller(ticket=_entry_ticket(page), concert_id=show.concert_id) == fan.pk
    assert not _csrf_tokens(first_page) & _csrf_tokens(second_page)

    clock.advance(timedelta(seconds=1))  # the next second draws the body again, with the hold
    assert "19 / 20" in text_of(second_client.get(url))


def test_the_kept_drawings_carry_csrf_tokens_that_work_for_the_fan():
    fan = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(fan)
    show = make_show()

    page = text_of(browser.get(reverse("pages:concert-detail", args=[show.concert_id])))
    forms = dict(
        re.findall(r'<form method="post" action="([^"]+)".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S)
    )
    waiting_room = reverse("pages:waiting-room", args=[show.concert_id])
    entered = browser.post(waiting_room, {"csrfmiddlewaretoken": forms[waiting_room]})  # the body's form
    logout = browser.post(reverse("pages:logout"), {"csrfmiddlewaretoken": forms[reverse("pages:logout")]})

    assert entered.status_code == 302 and entered.url.startswith(waiting_room)
    assert logout.status_code == 302
    assert fan.name not in text_of(browser.get("/"))


def test_a_fans_name_and_the_way_back_are_escaped_in_the_kept_header(client):
    client.force_login(UserFactory(name='<script>alert("x")</script>'))

    page = text_of(client.get("/?q=<b>&lang=ko"))

    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'name="next" value="/?q=%3Cb%3E&amp;lang=ko"' in page


def test_a_filled_value_is_escaped_and_never_read_again_for_holes():
    shell = f"<p>{hole('name')}</p><p>{hole('token')}</p>"
    look_alike = "\ue000token\ue000"  # the hole's mark without this process's nonce: plain text

    filled = shell_fill(shell, {"name": f"<b>{hole('token')}</b>{look_alike}", "token": "t0k"})

    assert filled == f"<p>&lt;b&gt;{hole('token')}&lt;/b&gt;{look_alike}</p><p>t0k</p>"
