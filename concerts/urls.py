from django.urls import path

from concerts.apis import ConcertListApi

urlpatterns = [
    path("concerts", ConcertListApi.as_view(), name="concert-list"),
    # A concert's shows and a show's seats: the booking path (reservations.urls).
]
