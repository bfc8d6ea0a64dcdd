"""How the seat-map page lays a hall out: zones and sections, so that every seat can be reached
on a phone without hidden scrolling.

- A zone is a run of consecutive rows of one grade (front rows are the better grades) in one of
  the hall's sections (floor, balcony), whose name the map shows above its first zone.
- Each row is cut at its aisles (a wider gap on the map), then each part into blocks of at most
  SEAT_MAP_BLOCK_SEATS seats side by side, as even as can be (12 seats: 6 + 6; 40 seats: 6 x 6
  + 4), so that one block fits a phone's width with seats of at least 44 px. Blocks wrap to the
  next line instead of running off the side.
- A section here is one block column of a zone (not the hall's section): what the page's
  overview lists and zooms into, one at a time, for halls of more than
  SEAT_MAP_OVERVIEW_MIN_SEATS seats.

Presentation only: which seat is free comes from concerts.selectors (the `effective_status` of
show_seat_list) and is checked again by the hold service.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from concerts.models import ShowSeat, ShowSeatStatus


@dataclass
class Section:
    """One block column of a zone (what the overview lists): not the hall's section (floor)."""

    key: str  # "<zone>-<block>", also the seats' data-section
    grade: str
    first_number: int
    last_number: int
    seats: int = 0
    free_seats: int = 0
    grades: Counter = field(default_factory=Counter)
    aisle_after: bool = False  # its blocks end at an aisle: the overview leaves a gap too


class Block(list):
    """Seats side by side; `aisle_after`: an aisle follows the block."""

    aisle_after = False


@dataclass
class SeatRow:
    label: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Zone:
    grade: str
    hall_section: str  # the seats' section (floor, balcony), "" in a hall of one
    starts_hall_section: bool  # the first zone of its hall section: the map names the section
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


def _row_blocks(row_seats: list[ShowSeat], most: int) -> list[Block]:
    """The row cut at its aisles, then each part into blocks of at most `most` seats."""
    parts: list[list[ShowSeat]] = [[]]
    for seat in row_seats:
        parts[-1].append(seat)
        if seat.aisle_after:
            parts.append([])
    blocks = []
    for part in filter(None, parts):
        start = 0
        for size in _blocks(len(part), most):
            blocks.append(Block(part[start : start + size]))
            start += size
        blocks[-1].aisle_after = part[-1].aisle_after
    return blocks


def seat_zones(seats: list[ShowSeat], *, block_seats: int) -> list[Zone]:
    """The seats (show_seat_list, in layout order) as zones of rows of blocks; each seat gets
    `free` and `map_section` (its overview section's key)."""
    rows: list[tuple[int, list[ShowSeat]]] = []
    for seat in seats:
        if not rows or rows[-1][0] != seat.row_index:
            rows.append((seat.row_index, []))
        rows[-1][1].append(seat)

    zones: list[Zone] = []
    for _row_index, row_seats in rows:
        # A row of several grades (per-seat grades) is in the zone of the grade most of its seats have.
        grade = Counter(seat.grade for seat in row_seats).most_common(1)[0][0]
        hall_section = row_seats[0].section
        if not zones or zones[-1].grade != grade or zones[-1].hall_section != hall_section:
            starts = not zones or zones[-1].hall_section != hall_section
            zones.append(Zone(grade=grade, hall_section=hall_section, starts_hall_section=starts))
        zone = zones[-1]
        row = SeatRow(label=row_seats[0].row)
        for index, block in enumerate(_row_blocks(row_seats, block_seats)):
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
            section.aisle_after |= block.aisle_after
            section.first_number = min(section.first_number, block[0].number)
            section.last_number = max(section.last_number, block[-1].number)
            for seat in block:
                seat.free = seat.effective_status == ShowSeatStatus.AVAILABLE
                seat.map_section = section.key
                section.seats += 1
                section.free_seats += seat.free
                section.grades[seat.grade] += 1
            row.blocks.append(block)
        zone.rows.append(row)
    for zone in zones:
        for section in zone.sections:
            section.grade = section.grades.most_common(1)[0][0]
    return zones
