from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from queueing.exceptions import QueueNotActive
from queueing.selectors import QueueTokenStatus
from queueing.services import queue_enter, queue_require_active
from queueing.session import queue_token_from_session
from queueing.tests.factories import concert_on_sale

pytestmark = [pytest.mark.django_db, pytest.mark.urls("queueing.tests.urls")]


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def guarded(client: APIClient, concert_id: int, token: str | None = None):
    headers = {"HTTP_X_QUEUE_TOKEN": token} if token else {}
    return client.get(f"/guarded/{concert_id}", **headers)


def test_no_login_is_401_first():
    concert = concert_on_sale()

    response = guarded(APIClient(), concert.pk, "whatever")

    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_active_token_of_the_concert_owned_by_the_caller_passes():
    concert = concert_on_sale()
    user = UserFactory()
    token = queue_enter(user_id=user.pk, concert_id=concert.pk).token

    response = guarded(logged_in(user), concert.pk, token)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "user_id": user.pk}


def test_waiting_token_is_403_with_status_and_position():
    concert = concert_on_sale(queue_active_size=1)
    queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)
    queue_enter(user_id=UserFactory().pk, concert_id=concert.pk)
    user = UserFactory()
    token = queue_enter(user_id=user.pk, concert_id=concert.pk).token

    response = guarded(logged_in(user), concert.pk, token)

    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["status"], body["position"]) == ("QUEUE_NOT_ACTIVE", "WAITING", 2)


def test_no_token_forged_token_other_concert_or_other_user_is_403_without_status():
    concert, elsewhere = concert_on_sale(), concert_on_sale()
    owner, user = UserFactory(), UserFactory()
    owners_token = queue_enter(user_id=owner.pk, concert_id=concert.pk).token
    other_concert_token = queue_enter(user_id=user.pk, concert_id=elsewhere.pk).token

    for token in (None, f"{concert.pk}.{'A' * 43}", other_concert_token, owners_token):
        response = guarded(logged_in(user), concert.pk, token)
        assert response.status_code == 403
        assert (response.json()["code"], response.json()["status"]) == ("QUEUE_NOT_ACTIVE", None)


def test_ended_session_is_403(clock):
    concert = concert_on_sale(session_minutes=20)
    user = UserFactory()
    token = queue_enter(user_id=user.pk, concert_id=concert.pk).token
    clock.advance(timedelta(minutes=20))

    response = guarded(logged_in(user), concert.pk, token)

    assert response.status_code == 403
    assert response.json()["code"] == "QUEUE_NOT_ACTIVE"


def test_token_from_the_session_passes_for_the_fan_pages():
    concert = concert_on_sale()
    user = UserFactory()
    client = APIClient()
    client.force_login(user)
    token = client.post(f"/api/v1/concerts/{concert.pk}/queue-tokens").json()["token"]
    assert queue_token_from_session(session=client.session, concert_id=concert.pk) == token

    assert guarded(client, concert.pk).status_code == 200


def test_view_without_a_concert_to_check_needs_login_only():
    assert guarded(logged_in(UserFactory()), 0).status_code == 200
    assert guarded(APIClient(), 0).status_code == 401


def test_queue_require_active_function_for_pages():
    concert = concert_on_sale(queue_active_size=1)
    active = queue_enter(user_id=1, concert_id=concert.pk)
    waiting = queue_enter(user_id=2, concert_id=concert.pk)

    assert queue_require_active(user_id=1, concert_id=concert.pk, token=active.token).status is QueueTokenStatus.ACTIVE
    with pytest.raises(QueueNotActive) as refused:
        queue_require_active(user_id=2, concert_id=concert.pk, token=waiting.token)
    assert refused.value.extra == {"status": "WAITING", "position": 1}
