"""The seat map page's seats, drawn once per hall layout and filled in per version of the seat map.

Drawing a 1,000-seat hall is a template loop over every seat (a checkbox or a taken mark, labels,
prices): tens of milliseconds of CPU, and the page's SQL read of the seats 12 ms more, where the
API answers the same map from the kept snapshot (concerts.seat_map) in 1-2 ms. In an on-sale rush
every admitted website fan loads the page, and again after each refused hold, on the booking pool,
while the seats change many times a second. So each web process keeps, per show and language:
- the hall's drawing with a hole for each seat and for each overview section's count of seats left
  (pages.shells), and both ways to draw each seat (free, taken): drawn again only when the kept seat
  map's `layout` changes (a seat's place, grade or price) or the seat limit does;
- the drawing filled in with the seats' states from the kept seat map: filled again whenever the
  map's ETag changes, a string substitution rather than a template.
The seats on the page are as current as the API's map (at most SEAT_MAP_REBUILD_SECONDS behind in
the rush; the page's script greys out seats taken meanwhile, and the hold service checks every
seat again under its locks). The drawing is the same for every fan: a fan's own choice (after a
refused hold) is ticked in afterwards.
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from concerts.models import Show
from concerts.seat_map import SeatMap
from concerts.selectors import show_seat_list
from core.money import won_format
from pages.seat_layout import seat_zones
from pages.shells import Kept, hole, shell_fill


@dataclass(frozen=True)
class SeatGrid:
    html: str  # the overview (large halls) and the seats' fieldset, nothing ticked
    seat_ids: frozenset[int]  # every seat on sale: what the hold form accepts


@dataclass(frozen=True)
class _HallDrawing:
    html: str  # with a hole per seat ("seat<id>") and per overview section ("free<n>")
    seats: dict[int, tuple[SafeString, SafeString]]  # seat id -> (drawn free, drawn taken)
    sections: dict[str, list[int]]  # the overview sections' holes -> their seats' ids


# Per (show, language): the hall stamped with the kept seat map's layout and the seat limit; the
# filled-in seats stamped with the map's ETag and the seat limit.
_halls: Kept[_HallDrawing] = Kept()
_grids: Kept[SeatGrid] = Kept()


def seat_grid(*, show: Show, seat_map: SeatMap, seat_limit: int, now) -> SeatGrid:
    """The show's seats as the seat map page draws them, current with its kept `seat_map`
    (concerts.seat_map.show_seat_map, which the page's legend counts from too)."""
    key = (show.pk, get_language())
    hall = _halls.get(key, (seat_map.layout, seat_limit), lambda: _hall_draw(show=show, seat_limit=seat_limit, now=now))
    # The ETag names the map's layout too (its body has every seat's place, grade and price).
    return _grids.get(key, (seat_map.etag, seat_limit), lambda: _grid_fill(hall, seat_map))


def _hall_draw(*, show: Show, seat_limit: int, now) -> _HallDrawing:
    seats = list(show_seat_list(show=show, now=now))
    zones = seat_zones(seats, block_seats=settings.SEAT_MAP_BLOCK_SEATS)
    sections: dict[str, list[int]] = {}  # an overview section's hole -> its seats' ids
    hole_of_section: dict[str, str] = {}  # the section's key -> its hole
    for zone in zones:
        for section in zone.sections:
            name = f"free{len(sections)}"
            section.free_text, sections[name], hole_of_section[section.key] = hole(name), [], name
    drawn = {}
    for seat in seats:
        seat.hole = hole(f"seat{seat.pk}")
        sections[hole_of_section[seat.map_section]].append(seat.pk)
        drawn[seat.pk] = (_seat_drawn(seat, free=True), _seat_drawn(seat, free=False))
    html = render_to_string(
        "pages/_seat_grid.html",
        {"zones": zones, "overview": len(seats) > settings.SEAT_MAP_OVERVIEW_MIN_SEATS, "seat_limit": seat_limit},
    )
    return _HallDrawing(html=html, seats=drawn, sections=sections)


def _grid_fill(hall: _HallDrawing, seat_map: SeatMap) -> SeatGrid:
    free = seat_map.free_seat_ids
    values: dict[str, object] = {
        f"seat{seat_id}": as_free if seat_id in free else as_taken
        for seat_id, (as_free, as_taken) in hall.seats.items()
    }
    values |= {name: sum(seat_id in free for seat_id in seat_ids) for name, seat_ids in hall.sections.items()}
    return SeatGrid(html=shell_fill(hall.html, values), seat_ids=frozenset(hall.seats))


def _seat_drawn(seat, *, free: bool) -> SafeString:
    """One seat of the map: a free seat's checkbox, or a taken seat's mark with the same data for
    the page's script. Written here rather than in the template: a hall's thousand seats in
    template tags and filters took 90 ms to draw, this 10."""
    if free:
        price = won_format(seat.price)
        return format_html(
            '<label class="seat grade-{grade}" title="{label} · {grade} · {price}">'
            '<input type="checkbox" name="seat_ids" value="{id}" data-price="{amount}" data-label="{label}" '
            'data-grade="{grade}" data-number="{number}" data-section="{section}">'
            '<span class="seat-num" aria-hidden="true">{number}</span>'
            '<span class="visually-hidden">{label} {grade} {price}</span></label>',
            grade=seat.grade, label=seat.label, price=price, id=seat.pk, amount=seat.price, number=seat.number,
            section=seat.map_section,
        )  # fmt: skip
    return format_html(
        '<span class="seat taken" title="{label} · {taken}" data-seat-id="{id}" data-price="{amount}" '
        'data-label="{label}" data-grade="{grade}" data-number="{number}" data-section="{section}">'
        '<span class="seat-num" aria-hidden="true">{number}</span><span class="visually-hidden">{label} {taken}</span>'
        "</span>",
        label=seat.label, taken=_("taken"), id=seat.pk, amount=seat.price, grade=seat.grade, number=seat.number,
        section=seat.map_section,
    )  # fmt: skip


def seat_grid_html(grid: SeatGrid, *, chosen: list[int]) -> SafeString:
    """The drawing with the fan's chosen seats ticked (those still free in it). Each free seat's
    checkbox is written once, as `name="seat_ids" value="<id>"`, so the id names exactly one box."""
    html = grid.html
    for seat_id in chosen:
        box = f'name="seat_ids" value="{int(seat_id)}"'
        html = html.replace(box, f"{box} checked", 1)
    return mark_safe(html)  # noqa: S308 - the template's own escaped output, and integers
