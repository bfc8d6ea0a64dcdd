from django.urls import path, register_converter

from concerts.apis import ConcertListApi, ShowListApi, ShowSeatListApi


class DbIdConverter:
    """A database id: digits that fit a bigint (longer numbers are a 404, not a database error)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DbIdConverter, "dbid")

urlpatterns = [
    path("concerts", ConcertListApi.as_view(), name="concert-list"),
    path("concerts/<dbid:concert_id>/shows", ShowListApi.as_view(), name="concert-show-list"),
    path("shows/<dbid:show_id>/seats", ShowSeatListApi.as_view(), name="show-seat-list"),
]
