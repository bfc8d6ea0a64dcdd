"""The seat map page's seats, drawn once per version of the show's seat map, not per request.

Drawing a 1,000-seat hall is a template loop over every seat (a checkbox or a taken mark, labels,
prices): about 90 ms of CPU, and the page's SQL read of the seats 12 ms more, where the API
answers the same map from the kept snapshot (concerts.seat_map) in 1-2 ms. In an on-sale rush
every admitted website fan loads the page, and again after each refused hold, on the booking
pool. So each web process keeps the drawn seats per show and language, with the kept seat map's
ETag they were drawn at, and draws them again only when that ETag changes (pages.shells.Kept):
the seats on the page are as current as the API's map (at most SEAT_MAP_REBUILD_SECONDS behind in
the rush; the page's script greys out seats taken meanwhile, and the hold service checks every
seat again under its locks). The drawing is the same for every fan: a fan's own choice (after a
refused hold) is ticked in afterwards.
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from concerts.models import Show
from concerts.seat_map import SeatMap
from concerts.selectors import show_seat_list
from pages.seat_layout import seat_zones
from pages.shells import Kept


@dataclass(frozen=True)
class SeatGrid:
    html: str  # the overview (large halls) and the seats' fieldset, nothing ticked
    seat_ids: frozenset[int]  # every seat on sale: what the hold form accepts


# Per (show, language), stamped with the kept seat map's ETag and the seat limit it was drawn with.
_grids: Kept[SeatGrid] = Kept()


def seat_grid(*, show: Show, seat_map: SeatMap, seat_limit: int, now) -> SeatGrid:
    """The show's seats as the seat map page draws them, current with its kept `seat_map`
    (concerts.seat_map.show_seat_map, which the page's legend counts from too)."""
    return _grids.get(
        (show.pk, get_language()),
        (seat_map.etag, seat_limit),
        lambda: _seat_grid_draw(show=show, seat_limit=seat_limit, now=now),
    )


def _seat_grid_draw(*, show: Show, seat_limit: int, now) -> SeatGrid:
    seats = list(show_seat_list(show=show, now=now))
    html = render_to_string(
        "pages/_seat_grid.html",
        {
            "zones": seat_zones(seats, block_seats=settings.SEAT_MAP_BLOCK_SEATS),
            "overview": len(seats) > settings.SEAT_MAP_OVERVIEW_MIN_SEATS,
            "seat_limit": seat_limit,
        },
    )
    return SeatGrid(html=html, seat_ids=frozenset(seat.pk for seat in seats))


def seat_grid_html(grid: SeatGrid, *, chosen: list[int]) -> SafeString:
    """The drawing with the fan's chosen seats ticked (those still free in it). Each free seat's
    checkbox is written once, as `name="seat_ids" value="<id>"`, so the id names exactly one box."""
    html = grid.html
    for seat_id in chosen:
        box = f'name="seat_ids" value="{int(seat_id)}"'
        html = html.replace(box, f"{box} checked", 1)
    return mark_safe(html)  # noqa: S308 - the template's own escaped output, and integers
