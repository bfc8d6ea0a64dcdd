import time

import pytest
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from accounts.tests.factories import UserFactory
from core.views import healthz
from queueing.apis import QueueTokenCurrentApi
from queueing.authentication import api_key_remember
from queueing.services import queue_enter
from queueing.tests.factories import concert_on_sale

pytestmark = pytest.mark.django_db


def test_profile():
    concert = concert_on_sale(queue_active_size=1)
    queue_enter(user_id=999, concert_id=concert.pk)
    user = UserFactory()
    key = Token.objects.create(user=user).key
    api_key_remember(key, user.pk)
    token = queue_enter(user_id=user.pk, concert_id=concert.pk).token
    rf = RequestFactory()
    view = QueueTokenCurrentApi.as_view()

    def poll():
        r = view(rf.get("/api/v1/queue-tokens/current", HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_QUEUE_TOKEN=token))
        getattr(r, "render", lambda: None)()
        assert r.status_code == 200

    def health():
        healthz(rf.get("/healthz"))

    from queueing.selectors import queue_status_for_api_key

    def sel():
        queue_status_for_api_key(api_key=key, token=token)

    for name, fn in [("health", health), ("poll", poll), ("selector", sel)] * 2:
        t = time.perf_counter()
        c0 = time.process_time()
        for _ in range(1000):
            fn()
        print(name, (time.perf_counter() - t) * 1e3, "us wall", (time.process_time() - c0) * 1e3, "us cpu")
