"""What fans see when Redis goes away and comes back empty (issue 7 item 4, the automated part of
scripts/drill redis-restart): a web instance on a Redis of the test's own, which is killed in the
middle of a fan's booking and started again, empty (Redis keeps nothing on disk here).

While it is down: every waiting-room and booking call answers 503 SERVICE_UNAVAILABLE with
Retry-After, never 500; the calls that need no Redis (catalog, wallet, reservations) go on; a
payment refused moves no money. After the restart: the old token is gone (404 TOKEN_NOT_FOUND),
but the fan pays the hold it still has (holds live in PostgreSQL and prove the admission), and
enters again for anything more.
"""

import time

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from drills.burst import call, http
from drills.tests.world import drill_world


def _until_answered(fn, *, tries: int = 20):
    """The first answer that is not a 503 (the web instance reconnecting to Redis), bounded."""
    answer = fn()
    for _ in range(tries):
        if answer.status != 503:
            return answer
        time.sleep(0.25)
        answer = fn()
    return answer


def _web_on(drill_stack, own_redis):
    drill_stack.config.redis_url = own_redis.url
    web = drill_stack.start_web("web1", workers=1, threads=2)
    drill_stack.wait_ready(web)
    return web.url


@pytest.mark.drill
def test_redis_down_answers_503_moves_no_money_and_a_live_hold_is_paid_after_the_restart(drill_stack, own_redis):
    world = drill_world(fans=2, active_size=5)
    fan, other = world.fans
    concert_id, show_id = world.concert.pk, world.show.pk
    base = _web_on(drill_stack, own_redis)

    def api(method, path, who=fan, token=None, body=None, headers=None):
        return call(base, method, path, api_key=who.api_key, queue_token=token, body=body, headers=headers)

    entered = api("POST", f"/concerts/{concert_id}/queue-tokens")
    assert entered.status == 201 and entered.data["status"] == "ACTIVE", entered
    token = entered.data["token"]
    seats = api("GET", f"/shows/{show_id}/seats", token=token)
    seat_id = next(s["id"] for s in seats.data["results"] if s["status"] == "AVAILABLE")
    hold = api("POST", "/reservations", token=token, body={"show_id": show_id, "seat_ids": [seat_id]})
    assert hold.status == 201, hold
    balance = api("GET", "/wallet").data["balance"]

    own_redis.kill()
    queue_calls = {
        "enter": api("POST", f"/concerts/{concert_id}/queue-tokens", who=other),
        "poll": api("GET", "/queue-tokens/current", token=token),
        "shows": api("GET", f"/concerts/{concert_id}/shows", token=token),
        "seats": api("GET", f"/shows/{show_id}/seats", token=token),
        "hold": api("POST", "/reservations", token=token, body={"show_id": show_id, "seat_ids": [seat_id + 1]}),
        "pay": api("POST", f"/reservations/{hold.data['id']}/payment", token=token, body={"pin": world.pin}),
        "leave": api("DELETE", "/queue-tokens/current", token=token),
    }
    for name, answer in queue_calls.items():
        assert (answer.status, answer.code) == (503, "SERVICE_UNAVAILABLE"), (name, answer)
        assert int(answer.headers.get("Retry-After", "0")) > 0, (name, answer.headers)
    others = {
        "concerts": api("GET", "/concerts"),
        "wallet": api("GET", "/wallet"),
        "reservations": api("GET", "/reservations"),
        "charge": api("POST", "/wallet/charges", body={"amount": 1000}, headers={"Idempotency-Key": "outage-1"}),
        "healthz": http("GET", base + "/healthz"),
    }
    assert {name: answer.status for name, answer in others.items()} == {
        "concerts": 200,
        "wallet": 200,
        "reservations": 200,
        "charge": 201,
        "healthz": 200,
    }
    assert others["wallet"].data["balance"] == balance  # the refused payment moved nothing
    readyz = http("GET", base + "/readyz")
    assert readyz.status == 503 and readyz.data["checks"]["redis"] == "unavailable"

    own_redis.start()  # same port, empty
    gone = _until_answered(lambda: api("GET", "/queue-tokens/current", token=token))
    assert (gone.status, gone.code) == (404, "TOKEN_NOT_FOUND"), gone
    # The hold lived through the restart (PostgreSQL), and it proves the fan was admitted: the fan
    # pays it with the token the queue forgot, without queueing again behind everyone.
    paid = api("POST", f"/reservations/{hold.data['id']}/payment", token=token, body={"pin": world.pin})
    assert paid.status == 200 and paid.data["status"] == "CONFIRMED", paid
    assert paid.data["balance"] == balance + 1000 - hold.data["amount"]
    # Booking anything more needs the queue again: the fan enters (a new token) and is admitted.
    refused = api("GET", f"/concerts/{concert_id}/shows", token=token)
    assert (refused.status, refused.code) == (403, "QUEUE_NOT_ACTIVE"), refused
    again = api("POST", f"/concerts/{concert_id}/queue-tokens")
    assert again.status == 201 and again.data["status"] == "ACTIVE" and again.data["token"] != token, again

    drill_stack.stop_all()
    call_command("check_inventory")
    call_command("check_ledger")


@pytest.mark.drill
def test_login_and_signup_never_answer_500_while_redis_is_down(drill_stack, own_redis):
    """Their rate limits count in the Redis cache, which fails open (IGNORE_EXCEPTIONS): without
    it, redis.ConnectionError escaped core/throttling.py as a 500 (found by scripts/drill)."""
    world = drill_world(fans=1, active_size=5)
    phone = User.objects.get(pk=world.fans[0].user_id).phone
    base = _web_on(drill_stack, own_redis)
    own_redis.kill()

    login = call(base, "POST", "/auth/token", api_key="", body={"phone": phone, "password": DEFAULT_PASSWORD})
    signup = call(
        base, "POST", "/users", api_key="",
        body={"name": "팬", "phone": "010-9999-0001", "password": "a-long-password-42", "pin": "402913"},
    )  # fmt: skip
    assert login.status == 200 and login.data["token"], login
    assert signup.status == 201, signup
