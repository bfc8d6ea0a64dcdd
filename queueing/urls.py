from django.urls import path

from queueing.apis import QueueTokenCreateApi, QueueTokenCurrentApi, QueueTokenEventsApi

urlpatterns = [
    path("concerts/<int:concert_id>/queue-tokens", QueueTokenCreateApi.as_view(), name="queue-token-create"),
    path("queue-tokens/current", QueueTokenCurrentApi.as_view(), name="queue-token-current"),
    path("queue-tokens/current/events", QueueTokenEventsApi.as_view(), name="queue-token-events"),
]
