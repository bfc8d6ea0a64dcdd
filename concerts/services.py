"""Writes of the catalog: venue layouts, shows (with their seats and prices), month seeding, the
organizer group and the demo data."""

import calendar
import re
import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.selectors import organization_require
from accounts.services import organization_get_or_create, user_create
from concerts.models import Concert, SeatGrade, Show, ShowGradePrice, ShowSeat, Venue, VenueSeat
from concerts.prices import seat_price_problem
from core.clock import clock
from core.exceptions import ValidationFailed
from points.services import wallet_charge

ROW_LABEL_MAX_LENGTH = VenueSeat._meta.get_field("row").max_length
SECTION_NAME_MAX_LENGTH = VenueSeat._meta.get_field("section").max_length
ROW_SEATS_MAX = 999
# Rows are drawn in row_index order, a small integer column.
ROWS_MAX = 32_767


class LayoutRow(NamedTuple):
    """One row of a layout: label, seats numbered 1..seats, the row's grade, its section ("": a
    hall of one section), seats of another grade ({number: grade}) and the seat numbers an aisle
    follows. A plain (label, seats, grade) tuple is a row too."""

    row: str
    seats: int
    grade: str
    section: str = ""
    seat_grades: Mapping[int, str] = {}
    aisles_after: tuple[int, ...] = ()


@dataclass(frozen=True)
class LayoutSeat:
    """One seat of a layout before it is saved (what the admin's preview draws)."""

    section: str
    row: str
    row_index: int
    number: int
    grade: str
    aisle_after: bool


def _seat_place(seat: LayoutSeat | VenueSeat) -> dict:
    """The fields that place a seat in a layout (LayoutSeat's): a venue's seats are made from a
    layout, and a show's seats copied from its venue's, with the same fields."""
    return {attr.name: getattr(seat, attr.name) for attr in fields(LayoutSeat)}


def _local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# ---------------------------------------------------------------------------------------------
# Venues and their layout
# ---------------------------------------------------------------------------------------------
def _is_count(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most


def _layout_too_big(total: int | None) -> str:
    message = _("A venue has at most %(seats)s seats in at most %(rows)s rows.") % {
        "seats": f"{settings.VENUE_SEATS_MAX:,}",
        "rows": f"{ROWS_MAX:,}",
    }
    return message if total is None else f"{message} ({total:,})"


def venue_layout_validate(rows: Sequence[LayoutRow | tuple]) -> list[LayoutRow]:
    """The rows cleaned (labels stripped and upper-cased), or ValidationFailed listing every problem.

    Besides counts and grades: a row may not be named like a grade (a seat "R-5" of grade A is read
    as an R seat), a row label is used once per section, and a section's rows come together (the
    maps draw a section as one block)."""
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    sections_done: list[str] = []
    clean: list[LayoutRow] = []
    grades = ", ".join(SeatGrade.values)
    if not rows:
        errors.append(_("A layout needs at least one row."))
    if len(rows) > ROWS_MAX:
        raise ValidationFailed(errors={"layout": [_layout_too_big(None)]})
    for index, raw in enumerate(rows, start=1):
        if not isinstance(raw, tuple) or not 3 <= len(raw) <= len(LayoutRow._fields):
            errors.append(_("Row %(n)s: not a row of a layout.") % {"n": index})
            continue
        row = LayoutRow(*raw)
        label = str(row.row or "").strip().upper()
        section = " ".join(str(row.section or "").split())
        where = _("Row %(n)s") % {"n": index} if not label else f"{section} {label}".strip()
        if len(section) > SECTION_NAME_MAX_LENGTH:
            errors.append(
                _("%(row)s: a section name has at most %(max)s characters.")
                % {"row": where, "max": SECTION_NAME_MAX_LENGTH}
            )
        if sections_done and sections_done[-1] != section:
            if section in sections_done:
                errors.append(
                    _("%(row)s: the rows of section %(section)s must come together.")
                    % {"row": where, "section": section or "-"}
                )
            sections_done.append(section)
        elif not sections_done:
            sections_done.append(section)
        if not label or len(label) > ROW_LABEL_MAX_LENGTH:
            errors.append(
                _("Row %(n)s: the label must have 1 to %(max)s characters.") % {"n": index, "max": ROW_LABEL_MAX_LENGTH}
            )
        elif label in SeatGrade.values:
            errors.append(
                _(
                    "%(row)s: a row may not be named like a grade (%(grades)s): its seats would read "
                    "as %(label)s seats. Use other letters or numbers."
                )
                % {"row": where, "grades": grades, "label": label}
            )
        elif (section, label) in seen:
            errors.append(_("%(row)s: this row is named twice.") % {"row": where})
        seen.add((section, label))
        seats = row.seats
        if not _is_count(seats, ROW_SEATS_MAX):
            errors.append(_("%(row)s: a row has 1 to %(max)s seats.") % {"row": where, "max": ROW_SEATS_MAX})
            seats = 0
        if row.grade not in SeatGrade.values:
            errors.append(_("%(row)s: the grade must be one of %(grades)s.") % {"row": where, "grades": grades})
        seat_grades = dict(row.seat_grades or {})
        for number, grade in seat_grades.items():
            if not _is_count(number, seats or ROW_SEATS_MAX) or grade not in SeatGrade.values:
                errors.append(
                    _("%(row)s: seat %(number)s=%(grade)s names no seat of the row or no grade (%(grades)s).")
                    % {"row": where, "number": number, "grade": grade, "grades": grades}
                )
        aisles = tuple(sorted(set(row.aisles_after or ())))
        if any(not _is_count(number, max(seats - 1, 0)) for number in aisles):
            errors.append(
                _("%(row)s: an aisle comes after a seat of the row, not after its last one (1 to %(last)s).")
                % {"row": where, "last": max(seats - 1, 0)}
            )
        clean.append(LayoutRow(label, row.seats, row.grade, section, seat_grades, aisles))
    if any(section for section in sections_done) and "" in sections_done:
        errors.append(_("This hall has sections: put every row under one, e.g. a line [1층] above its rows."))
    total = sum(row.seats for row in clean if _is_count(row.seats, ROW_SEATS_MAX))
    if total > settings.VENUE_SEATS_MAX:
        errors.append(_layout_too_big(total))
    if errors:
        raise ValidationFailed(errors={"layout": errors})
    return clean


def venue_layout_seats(rows: Sequence[LayoutRow | tuple]) -> list[LayoutSeat]:
    """Every seat of a layout, validated (venue_layout_validate), in drawing order."""
    return [
        LayoutSeat(
            section=row.section,
            row=row.row,
            row_index=row_index,
            number=number,
            grade=row.seat_grades.get(number, row.grade),
            aisle_after=number in row.aisles_after,
        )
        for row_index, row in enumerate(venue_layout_validate(rows))
        for number in range(1, row.seats + 1)
    ]


_SECTION_LINE = re.compile(r"^\[(?P<name>[^\]]*)\]$")
_ROW_LINE = re.compile(
    r"^(?P<first>[A-Za-z0-9]+)(?:\s*-\s*(?P<last>[A-Za-z0-9]+))?\s+(?P<seats>\d+)\s+(?P<grade>\w+)"
    r"(?P<seat_grades>(?:\s+\d+(?:-\d+)?=\w+)*)\s*(?:\|(?P<aisles>[\d\s]*))?$"
)
_SEAT_GRADE = re.compile(r"(\d+)(?:-(\d+))?=(\w+)")


def _row_labels(first: str, last: str) -> list[str] | None:
    """B-D -> B, C, D; 1-12 -> 1..12; None when it is no range."""
    if first.isdigit() and last.isdigit() and int(first) <= int(last):
        # One more than a layout may have at most: the layout's check names the slip.
        return [str(n) for n in range(int(first), min(int(last), int(first) + ROWS_MAX) + 1)]
    if len(first) == len(last) == 1 and first.isalpha() and last.isalpha() and first <= last:
        return [chr(code) for code in range(ord(first), ord(last) + 1)]
    return None


def venue_layout_parse(text: str) -> list[LayoutRow]:
    """A layout written as text (the admin's field, the seed venues), validated; one line each:

        [1층]                     a section: the rows below are in it (no line: a hall of one)
        B 10 VIP                  row B, seats 1..10, VIP
        C-F 12 R | 4 8            rows C to F, 12 R seats each, an aisle after seats 4 and 8
        1-3 40 S 1-10=A 31-40=A   rows 1 to 3, 40 S seats each, but seats 1-10 and 31-40 are A

    ValidationFailed (errors under "layout") names every line that is wrong."""
    rows: list[LayoutRow] = []
    errors: list[str] = []
    section = ""
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if heading := _SECTION_LINE.match(line):
            section = " ".join(heading["name"].split())
            if not section:
                errors.append(_("Line %(n)s: name the section, e.g. [1층].") % {"n": line_number})
            continue
        match = _ROW_LINE.match(line)
        if not match:
            errors.append(
                _("Line %(n)s: write ROW SEATS GRADE, e.g. 'B 10 VIP', 'C-F 12 R | 4 8' or '[1층]'.")
                % {"n": line_number}
            )
            continue
        first, last = match["first"].upper(), (match["last"] or "").upper()
        labels = _row_labels(first, last) if last else [first]
        if labels is None:
            errors.append(
                _(
                    "Line %(n)s: a range of rows goes from a letter to a later one (C-F) "
                    "or from a number to a larger one (1-12)."
                )
                % {"n": line_number}
            )
            continue
        seat_grades: dict[int, str] = {}
        for start, end, grade in _SEAT_GRADE.findall(match["seat_grades"] or ""):
            if int(end or start) - int(start) > ROW_SEATS_MAX:
                errors.append(_("Line %(n)s: a range of seats is too long.") % {"n": line_number})
                break
            seat_grades.update(dict.fromkeys(range(int(start), int(end or start) + 1), grade.upper()))
        aisles = tuple(int(number) for number in (match["aisles"] or "").split())
        seats, grade = int(match["seats"]), match["grade"].upper()
        rows.extend(LayoutRow(label, seats, grade, section, seat_grades, aisles) for label in labels)
    if errors:
        raise ValidationFailed(errors={"layout": errors})
    return venue_layout_validate(rows)


def _next_label(label: str) -> str | None:
    """The row label after `label` in a range (B -> C, 9 -> 10), None if ranges cannot follow it."""
    if label.isdigit() and str(int(label)) == label:
        return str(int(label) + 1)
    if len(label) == 1 and "A" <= label < "Z":
        return chr(ord(label) + 1)
    return None


def venue_layout_text(seats: Sequence[VenueSeat | LayoutSeat]) -> str:
    """A layout (seats in drawing order) written in venue_layout_parse's notation: a line per row,
    or per run of rows alike (B-D 10 R)."""
    rows: dict[int, list[VenueSeat | LayoutSeat]] = {}
    for seat in seats:
        rows.setdefault(seat.row_index, []).append(seat)
    entries: list[tuple[str, str, str, str]] = []  # (section, first row, last row, the rest of the line)
    for row_seats in rows.values():
        first = row_seats[0]
        counts = Counter(seat.grade for seat in row_seats)
        grade = max(SeatGrade.values, key=lambda g: (counts[g], -SeatGrade.values.index(g)))
        rest = f"{len(row_seats)} {grade}"
        others = [seat for seat in row_seats if seat.grade != grade]
        for _key, run in groupby(enumerate(others), key=lambda item: (item[1].number - item[0], item[1].grade)):
            run = [seat for _i, seat in run]
            span = f"{run[0].number}" if len(run) == 1 else f"{run[0].number}-{run[-1].number}"
            rest += f" {span}={run[0].grade}"
        aisles = [str(seat.number) for seat in row_seats if seat.aisle_after]
        if aisles:
            rest += " | " + " ".join(aisles)
        last = entries[-1] if entries else None
        if last and last[0] == first.section and last[3] == rest and _next_label(last[2]) == first.row:
            entries[-1] = (last[0], last[1], first.row, rest)
        else:
            entries.append((first.section, first.row, first.row, rest))
    lines: list[str] = []
    section = ""
    for entry_section, first_row, last_row, rest in entries:
        if entry_section != section or (not lines and entry_section):
            section = entry_section
            lines.append(f"[{section}]")
        rows_text = first_row if first_row == last_row else f"{first_row}-{last_row}"
        lines.append(f"{rows_text} {rest}")
    return "\n".join(lines)


@transaction.atomic
def venue_layout_generate(*, venue: Venue, rows: Sequence[LayoutRow | tuple]) -> list[VenueSeat]:
    """Replace the venue's layout with `rows` (see LayoutRow), in one go.

    Shows already created keep their own seats (copied at creation), so this never touches them.
    The venue row is locked, so two generations of one venue don't interleave.
    """
    layout = venue_layout_seats(rows)
    Venue.objects.select_for_update().get(pk=venue.pk)
    VenueSeat.objects.filter(venue=venue).delete()
    return VenueSeat.objects.bulk_create(VenueSeat(venue=venue, **_seat_place(seat)) for seat in layout)


@transaction.atomic
def venue_create(
    *,
    organization: Organization,
    name: str,
    rows: Sequence[LayoutRow | tuple],
    address: str = "",
    actor: User | None = None,
) -> Venue:
    """A venue of `organization` with its layout; `actor`, when a staff member acts, must work for it."""
    if actor is not None:
        organization_require(user=actor, organization_id=organization.pk)
    venue = Venue(organization=organization, name=name.strip(), address=address)
    venue.full_clean()
    venue.save()
    venue_layout_generate(venue=venue, rows=rows)
    return venue


# The SPEC's three venues: name -> layout (front rows are the better grades). Rows are numbered,
# as in most Korean halls: no row reads like a grade.
SEED_VENUES: dict[str, str] = {
    # 50 seats: 5 rows of 10, an aisle in the middle -> VIP 10, R 10, S 20, A 10
    "항해 콘서트장": """
        1 10 VIP | 5
        2 10 R | 5
        3-4 10 S | 5
        5 10 A | 5
    """,
    # 100 seats: 10 rows of 10, aisles after seats 3 and 7 -> VIP 20, R 20, S 30, A 30
    "스파르타 콘서트장": """
        1-2 10 VIP | 3 7
        3-4 10 R | 3 7
        5-7 10 S | 3 7
        8-10 10 A | 3 7
    """,
    # 1,000 seats: a floor of 15 rows and a balcony of 10, 40 seats a row in three blocks
    # (10 | 20 | 10); the front rows' far ends and the balcony's first row's ends a grade lower,
    # the middle of rows 4-8 a grade higher -> VIP 128, R 192, S 310, A 370
    "예술의 전당 콘서트장": """
        [1층]
        1-3 40 VIP 1-2=R 39-40=R | 10 30
        4-8 40 R 19-22=VIP | 10 30
        9-15 40 S | 10 30
        [2층]
        1 40 S 1-5=A 36-40=A | 10 30
        2-10 40 A | 10 30
    """,
}


@dataclass
class SeedVenue:
    venue: Venue
    created: bool
    seats: int


def venues_seed(*, organization: Organization) -> list[SeedVenue]:
    """The SPEC venues of `organization`, each with its layout. Idempotent: an existing venue (by
    name, whichever its organization) is kept as is, except that one without any seat gets the
    default layout."""
    result = []
    for name, layout in SEED_VENUES.items():
        with transaction.atomic():
            venue, created = Venue.objects.get_or_create(name=name, defaults={"organization": organization})
            if not venue.seats.exists():
                venue_layout_generate(venue=venue, rows=venue_layout_parse(layout))
            result.append(SeedVenue(venue=venue, created=created, seats=venue.seats.count()))
    return result


# ---------------------------------------------------------------------------------------------
# Shows
# ---------------------------------------------------------------------------------------------
def _window_validate(*, starts_at: datetime, booking_opens_at: datetime, booking_closes_at: datetime) -> None:
    for value in (starts_at, booking_opens_at, booking_closes_at):
        if value.tzinfo is None:
            raise ValueError("show times must be aware datetimes")
    if not booking_opens_at < booking_closes_at <= starts_at:
        raise ValidationFailed(
            "Booking must open before it closes, and close no later than the show starts.",
            errors={"booking_opens_at": ["Booking must open before it closes, and close by the show's start."]},
        )


@transaction.atomic
def show_create(
    *,
    concert: Concert,
    starts_at: datetime,
    booking_opens_at: datetime,
    booking_closes_at: datetime | None = None,
    venue: Venue | None = None,
    prices: Mapping[str, int] | None = None,
    actor: User | None = None,
) -> Show:
    """A show of `concert` with one ShowSeat per seat of the venue's layout (copied now, so later
    layout changes never touch it) and the given grade prices.

    venue defaults to the concert's venue, booking_closes_at to the start; it must be a venue of the
    concert's organization. A grade without a price is not on sale (see concerts.selectors).
    `actor`, when a staff member acts, must work for the concert's organization.
    """
    venue = venue or concert.venue
    if actor is not None:
        organization_require(user=actor, organization_id=concert.organization_id)
    if venue.organization_id != concert.organization_id:
        raise ValidationFailed(
            f"The venue {venue} belongs to another organization.",
            errors={"venue": ["This venue belongs to another organization."]},
        )
    booking_closes_at = booking_closes_at or starts_at
    _window_validate(starts_at=starts_at, booking_opens_at=booking_opens_at, booking_closes_at=booking_closes_at)
    prices = dict(prices or {})
    problems = [f"Unknown grade: {grade}." for grade in prices if grade not in SeatGrade.values] + [
        f"{grade}: {problem}" for grade, price in prices.items() if (problem := seat_price_problem(price))
    ]
    if problems:
        raise ValidationFailed(" ".join(problems), errors={"prices": problems})
    layout = list(VenueSeat.objects.filter(venue=venue).order_by("row_index", "number"))
    if not layout:
        raise ValidationFailed(
            f"The venue {venue} has no seat layout yet.", errors={"venue": ["The venue has no seat layout yet."]}
        )

    show = Show.objects.create(
        concert=concert,
        venue=venue,
        starts_at=starts_at,
        booking_opens_at=booking_opens_at,
        booking_closes_at=booking_closes_at,
    )
    ShowSeat.objects.bulk_create(ShowSeat(show=show, **_seat_place(seat)) for seat in layout)
    ShowGradePrice.objects.bulk_create(ShowGradePrice(show=show, grade=g, price=p) for g, p in prices.items())
    return show


def month_weekend_dates(*, year: int, month: int) -> list[date]:
    """Every Saturday and Sunday of the month, in order."""
    days = calendar.monthrange(year, month)[1]
    return [d for d in (date(year, month, n) for n in range(1, days + 1)) if d.weekday() >= calendar.SATURDAY]


def month_booking_opens_at(*, year: int, month: int) -> datetime:
    """The SPEC's opening for a month's shows: the last day of the previous month, 00:00 Asia/Seoul."""
    last_day_before = date(year, month, 1) - timedelta(days=1)
    return datetime(last_day_before.year, last_day_before.month, last_day_before.day, tzinfo=_local_tz())


def _month_validate(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValidationFailed(errors={"month": ["The month must be 1 to 12."]})


def month_show_starts(*, concert: Concert, year: int, month: int) -> list[datetime]:
    """When the month's shows of `concert` start: every Saturday and Sunday at its show time (Asia/Seoul)."""
    _month_validate(month)
    tz = _local_tz()
    return [datetime.combine(day, concert.show_time, tzinfo=tz) for day in month_weekend_dates(year=year, month=month)]


@dataclass(frozen=True)
class MonthShowPlan:
    """One show of month_shows_seed before it runs: its start, and the show already there if any."""

    starts_at: datetime
    existing: Show | None


def month_shows_preview(*, concert: Concert, year: int, month: int) -> list[MonthShowPlan]:
    """What month_shows_seed would do for this month (a read: nothing is created)."""
    starts = month_show_starts(concert=concert, year=year, month=month)
    existing = {show.starts_at: show for show in concert.shows.filter(starts_at__in=starts)}
    return [MonthShowPlan(starts_at=starts_at, existing=existing.get(starts_at)) for starts_at in starts]


@dataclass
class MonthSeed:
    created: list[Show] = field(default_factory=list)
    existing: list[Show] = field(default_factory=list)


def month_shows_seed(
    *,
    concert: Concert,
    year: int,
    month: int,
    venue: Venue | None = None,
    prices: Mapping[str, int] | None = None,
    booking_opens_at: datetime | None = None,
    actor: User | None = None,
) -> MonthSeed:
    """The month's Saturday and Sunday shows of `concert`, at the concert's show time (Asia/Seoul).

    Each show gets a price for every grade (`prices` overrides concert.default_price per grade);
    booking opens at `booking_opens_at` (default: the last day of the previous month, 00:00) and
    closes at the start. Idempotent: a show already at that start is left as it is. The concert
    row is locked, so two seedings of one concert run one after the other. `actor`, when a staff
    member acts, must work for the concert's organization.
    """
    if actor is not None:
        organization_require(user=actor, organization_id=concert.organization_id)
    _month_validate(month)
    all_prices = {grade: concert.default_price for grade in SeatGrade.values} | dict(prices or {})
    opens_at = booking_opens_at or month_booking_opens_at(year=year, month=month)
    result = MonthSeed()
    with transaction.atomic():
        Concert.objects.select_for_update().get(pk=concert.pk)
        for entry in month_shows_preview(concert=concert, year=year, month=month):  # read under the lock
            starts_at = entry.starts_at
            if entry.existing is not None:
                result.existing.append(entry.existing)
                continue
            result.created.append(
                show_create(
                    concert=concert,
                    venue=venue,
                    starts_at=starts_at,
                    booking_opens_at=opens_at,
                    prices=all_prices,
                    actor=actor,
                )
            )
    return result


# ---------------------------------------------------------------------------------------------
# Organizers and demo data
# ---------------------------------------------------------------------------------------------
ORGANIZER_GROUP = "Organizers"
# What an organizer may do in the back-office: (app label, model or "*" for every model, actions).
# Where: only in the organizations they work for (accounts.selectors; the admin and services scope
# every list and page by it). No list of every fan, wallet or ledger entry: a fan's name and phone
# show on the reservations and tickets of the organizer's own shows, which is all a booking needs.
ORGANIZER_PERMISSIONS: list[tuple[str, str, tuple[str, ...]]] = [
    ("accounts", "organization", ("view",)),
    ("concerts", "venue", ("view", "add", "change")),
    ("concerts", "concert", ("view", "add", "change")),
    ("concerts", "show", ("view", "add", "change", "cancel")),
    ("concerts", "showgradeprice", ("view", "add", "change", "delete")),
    ("concerts", "showseat", ("view",)),
    # The waiting rooms (queue policy, pause/resume): whatever models that app has.
    ("queueing", "*", ("view", "change")),
    # Holds, sales and the ledger: read only, whatever models those apps have.
    ("reservations", "*", ("view",)),
    # ...and refunding a fan's tickets on their behalf (same service, same ledger).
    ("reservations", "reservation", ("refund",)),
    # ...and checking tickets in at the door.
    ("reservations", "reservationseat", ("checkin",)),
]


@transaction.atomic
def organizer_group_sync() -> Group:
    """The "Organizers" group with exactly ORGANIZER_PERMISSIONS (those that exist). Idempotent."""
    group, _created = Group.objects.get_or_create(name=ORGANIZER_GROUP)
    wanted = Q(pk__in=[])
    for app_label, model, actions in ORGANIZER_PERMISSIONS:
        scope = Q(content_type__app_label=app_label)
        if model != "*":
            scope &= Q(content_type__model=model)
        wanted |= scope & Q(codename__regex=rf"^({'|'.join(actions)})_")
    group.permissions.set(Permission.objects.filter(wanted))
    return group


DEMO_PASSWORD = "stagegate-demo"
DEMO_PIN = "482916"
DEMO_ORGANIZER = ("010-0000-0000", "데모 주최자")
DEMO_FANS = [("010-1000-0001", "데모 팬 1"), ("010-1000-0002", "데모 팬 2"), ("010-1000-0003", "데모 팬 3")]
# A new demo fan's wallet starts with this many points, so the demo can be booked at once.
DEMO_FAN_POINTS = 500_000
DEMO_VENUE = "항해 콘서트장"
# The organization of the demo data: the same name as the one the migration gives rows that were
# there before organizations, so a database from before them and a new one seed alike.
DEMO_ORGANIZATION = DEFAULT_ORGANIZATION = "Stagegate"


@dataclass
class DemoSeed:
    organization: Organization
    venues: list[SeedVenue]
    organizer: User
    organizer_created: bool
    fans: list[tuple[User, bool]]
    concert: Concert
    concert_created: bool
    shows: MonthSeed


def _demo_user(*, phone: str, name: str) -> tuple[User, bool]:
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user, False
    return user_create(name=name, phone=phone, password=DEMO_PASSWORD, pin=DEMO_PIN), True


def demo_fans_fund(*, fans: list[tuple[User, bool]]) -> None:
    """Charge DEMO_FAN_POINTS to each demo fan just created (each charge its own transaction, as the
    wallet requires; a fan that existed keeps what they have)."""
    for fan, created in fans:
        if created:
            wallet_charge(user=fan, amount=DEMO_FAN_POINTS)


@transaction.atomic
def demo_seed() -> DemoSeed:
    """Demo data for `scripts/run`: an organization with the SPEC venues, the organizer group and a
    demo organizer working for it, three demo fans, and a concert for next month at 항해 콘서트장
    whose booking is open now. Idempotent: what exists is kept."""
    now = clock.now()
    organization = organization_get_or_create(name=DEMO_ORGANIZATION)
    venues = venues_seed(organization=organization)
    group = organizer_group_sync()

    organizer, organizer_created = _demo_user(phone=DEMO_ORGANIZER[0], name=DEMO_ORGANIZER[1])
    if not organizer.is_staff:
        organizer.is_staff = True
        organizer.save(update_fields=["is_staff"])
    organizer.groups.add(group)
    fans = [_demo_user(phone=phone, name=name) for phone, name in DEMO_FANS]

    local_now = now.astimezone(_local_tz())
    year, month = (local_now.year + 1, 1) if local_now.month == 12 else (local_now.year, local_now.month + 1)
    venue = Venue.objects.get(name=DEMO_VENUE)
    # The demo venue's organization (the demo one, unless the venue was there before it).
    organization = venue.organization
    organization.members.add(organizer)
    concert, concert_created = Concert.objects.get_or_create(
        title=f"Stagegate 데모 콘서트 {year}-{month:02d}",
        defaults={
            "artist": "Stagegate Demo Band",
            "organization": organization,
            "venue": venue,
            "description": "Demo data.",
        },
    )
    shows = month_shows_seed(concert=concert, year=year, month=month, booking_opens_at=now)
    return DemoSeed(
        organization=organization,
        venues=venues,
        organizer=organizer,
        organizer_created=organizer_created,
        fans=fans,
        concert=concert,
        concert_created=concert_created,
        shows=shows,
    )
