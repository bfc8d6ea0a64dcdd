"""How the seat-map page lays a hall out: zones and sections, so that every seat can be reached
on a phone without hidden scrolling.

- A zone is a run of consecutive rows of one grade (front rows are the better grades).
- Each row is cut into blocks of at most SEAT_MAP_BLOCK_SEATS seats side by side, as even as can
  be (12 seats: 6 + 6; 40 seats: 6 x 6 + 4), so that one block fits a phone's width with seats of
  at least 44 px. Blocks wrap to the next line instead of running off the side.
- A section is one block column of a zone: what the page's overview lists and zooms into, one at
  a time, for halls of more than SEAT_MAP_OVERVIEW_MIN_SEATS seats.

Presentation only: which seat is free comes from concerts.selectors (the `effective_status` of
show_seat_list) and is checked again by the hold service.
"""

import math
from dataclasses import dataclass, field

from concerts.models import ShowSeat, ShowSeatStatus


@dataclass
class Section:
    key: str  # "<zone>-<block>", also the seats' data-section
    grade: str
    first_number: int
    last_number: int
    seats: int = 0
    free_seats: int = 0


@dataclass
class SeatRow:
    label: str
    blocks: list[list[ShowSeat]] = field(default_factory=list)


@dataclass
class Zone:
    grade: str
    rows: list[SeatRow] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    @property
    def first_row(self) -> str:
        return self.rows[0].label

    @property
    def last_row(self) -> str:
        return self.rows[-1].label


def _blocks(count: int, most: int) -> list[int]:
    """Sizes of the blocks a row of `count` seats is cut into: at most `most` each, as even as can be."""
    most = max(1, most)
    pieces = max(1, math.ceil(count / most))
    size = math.ceil(count / pieces)
    return [min(size, count - start) for start in range(0, count, size)]


def seat_zones(seats: list[ShowSeat], *, block_seats: int) -> list[Zone]:
    """The seats (show_seat_list, in layout order) as zones of rows of blocks; each seat gets
    `free` and `section` (its section's key)."""
    rows: list[tuple[str, list[ShowSeat]]] = []
    for seat in seats:
        if not rows or rows[-1][0] != seat.row:
            rows.append((seat.row, []))
        rows[-1][1].append(seat)

    zones: list[Zone] = []
    for label, row_seats in rows:
        grade = row_seats[0].grade
        if not zones or zones[-1].grade != grade:
            zones.append(Zone(grade=grade))
        zone = zones[-1]
        row = SeatRow(label=label)
        start = 0
        for index, size in enumerate(_blocks(len(row_seats), block_seats)):
            block = row_seats[start : start + size]
            start += size
            if index == len(zone.sections):
                zone.sections.append(
                    Section(
                        key=f"{len(zones)}-{index + 1}",
                        grade=grade,
                        first_number=block[0].number,
                        last_number=block[-1].number,
                    )
                )
            section = zone.sections[index]
            section.first_number = min(section.first_number, block[0].number)
            section.last_number = max(section.last_number, block[-1].number)
            for seat in block:
                seat.free = seat.effective_status == ShowSeatStatus.AVAILABLE
                seat.section = section.key
                section.seats += 1
                section.free_seats += seat.free
            row.blocks.append(block)
        zone.rows.append(row)
    return zones
