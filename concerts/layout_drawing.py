"""Where each seat of a layout goes on the back-office's SVG maps (the venue's layout preview and
a show's sales dashboard): a line per row, a heading per section, a gap per aisle.

SVG user units (the templates scale them); positions are SVG attributes, so no style attribute is
needed under the Content Security Policy.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from concerts.models import SeatGrade, seat_label

SEAT_CELL = 14  # one seat and the space after it
SEAT_SIZE = 11
AISLE_WIDTH = 10  # the gap an aisle adds
ROW_LABEL_WIDTH = 24
SECTION_HEADING_HEIGHT = 18  # a section's name above its rows
SECTION_GAP = 8  # between a section's last row and the next section's name


class DrawableSeat(Protocol):
    section: str
    row: str
    row_index: int
    number: int
    grade: str
    aisle_after: bool


@dataclass(frozen=True)
class SeatMark:
    x: int
    y: int
    label: str
    grade: str
    status: str  # AVAILABLE, HELD, SOLD; AVAILABLE for a venue's layout


@dataclass(frozen=True)
class RowMark:
    y: int  # the text's baseline
    row: str


@dataclass(frozen=True)
class SectionMark:
    y: int  # the text's baseline
    name: str
    seats: int
    grades: list[tuple[str, int]]  # (grade, seats), in grade order


@dataclass
class LayoutDrawing:
    seats: list[SeatMark] = field(default_factory=list)
    rows: list[RowMark] = field(default_factory=list)
    sections: list[SectionMark] = field(default_factory=list)
    grades: list[tuple[str, int]] = field(default_factory=list)  # the whole hall: (grade, seats)
    width: int = ROW_LABEL_WIDTH
    height: int = SEAT_CELL
    seat_size: int = SEAT_SIZE

    @property
    def total(self) -> int:
        return len(self.seats)


def _in_grade_order(counts: Counter) -> list[tuple[str, int]]:
    return [(grade, counts[grade]) for grade in SeatGrade.values if counts[grade]]


def layout_drawing(seats: Iterable[DrawableSeat], *, statuses: dict[int, str] | None = None) -> LayoutDrawing:
    """The seats (in layout order: row order, then number) placed on the map. `statuses` maps a
    seat's position in `seats` to its status (the dashboard); else every seat is AVAILABLE."""
    drawing = LayoutDrawing()
    y = 0
    row_index = section = None
    x = ROW_LABEL_WIDTH
    section_counts: Counter = Counter()
    hall_counts: Counter = Counter()
    section_at: int | None = None  # index in drawing.sections of the current section

    def close_section() -> None:
        if section_at is not None:
            mark = drawing.sections[section_at]
            drawing.sections[section_at] = SectionMark(
                y=mark.y, name=mark.name, seats=sum(section_counts.values()), grades=_in_grade_order(section_counts)
            )

    for position, seat in enumerate(seats):
        if seat.row_index != row_index:
            if row_index is not None:
                y += SEAT_CELL
            if seat.section != section and (seat.section or section is not None):
                close_section()
                section_counts = Counter()
                if section is not None:
                    y += SECTION_GAP
                if seat.section:
                    heading = SectionMark(y=y + SECTION_HEADING_HEIGHT - 6, name=seat.section, seats=0, grades=[])
                    drawing.sections.append(heading)
                    section_at = len(drawing.sections) - 1
                    y += SECTION_HEADING_HEIGHT
                else:
                    section_at = None
            section = seat.section
            row_index = seat.row_index
            x = ROW_LABEL_WIDTH
            drawing.rows.append(RowMark(y=y + SEAT_SIZE - 1, row=seat.row))
        drawing.seats.append(
            SeatMark(
                x=x,
                y=y,
                label=seat_label(seat.section, seat.row, seat.number),
                grade=seat.grade,
                status=(statuses or {}).get(position, "AVAILABLE"),
            )
        )
        section_counts[seat.grade] += 1
        hall_counts[seat.grade] += 1
        x += SEAT_CELL + (AISLE_WIDTH if seat.aisle_after else 0)
        drawing.width = max(drawing.width, x)
    close_section()
    drawing.height = y + SEAT_CELL
    drawing.grades = _in_grade_order(hall_counts)
    return drawing
