"""Writes of the catalog: venue layouts, shows (with their seats and prices), month seeding, the
organizer group and the demo data."""

import calendar
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from accounts.models import Organization, User
from accounts.selectors import organization_require
from accounts.services import organization_get_or_create, user_create
from concerts.models import Concert, SeatGrade, Show, ShowGradePrice, ShowSeat, Venue, VenueSeat
from concerts.prices import seat_price_problem
from core.clock import clock
from core.exceptions import ValidationFailed
from points.services import wallet_charge

ROW_LABEL_MAX_LENGTH = VenueSeat._meta.get_field("row").max_length
ROW_SEATS_MAX = 999

# (row label, seats in the row, grade): one row of a layout.
LayoutRow = tuple[str, int, str]


def _local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


# ---------------------------------------------------------------------------------------------
# Venues and their layout
# ---------------------------------------------------------------------------------------------
def venue_layout_validate(rows: Sequence[LayoutRow]) -> list[LayoutRow]:
    """The rows cleaned (labels stripped and upper-cased), or ValidationFailed listing every problem."""
    errors: list[str] = []
    seen: set[str] = set()
    clean: list[LayoutRow] = []
    if not rows:
        errors.append("A layout needs at least one row.")
    for index, (label, seats, grade) in enumerate(rows, start=1):
        label = (label or "").strip().upper()
        if not label or len(label) > ROW_LABEL_MAX_LENGTH:
            errors.append(f"Row {index}: the label must have 1 to {ROW_LABEL_MAX_LENGTH} characters.")
        elif label in seen:
            errors.append(f"Row {index}: the label {label} is used twice.")
        seen.add(label)
        if not isinstance(seats, int) or isinstance(seats, bool) or not 1 <= seats <= ROW_SEATS_MAX:
            errors.append(f"Row {index}: a row has 1 to {ROW_SEATS_MAX} seats.")
        if grade not in SeatGrade.values:
            errors.append(f"Row {index}: the grade must be one of {', '.join(SeatGrade.values)}.")
        clean.append((label, seats, grade))
    if errors:
        raise ValidationFailed(errors={"layout": errors})
    return clean


@transaction.atomic
def venue_layout_generate(*, venue: Venue, rows: Sequence[LayoutRow]) -> list[VenueSeat]:
    """Replace the venue's layout with `rows` (label, seats numbered 1..n, grade), in one go.

    Shows already created keep their own seats (copied at creation), so this never touches them.
    The venue row is locked, so two generations of one venue don't interleave.
    """
    clean = venue_layout_validate(rows)
    Venue.objects.select_for_update().get(pk=venue.pk)
    VenueSeat.objects.filter(venue=venue).delete()
    seats = [
        VenueSeat(venue=venue, row=label, row_index=row_index, number=number, grade=grade)
        for row_index, (label, count, grade) in enumerate(clean)
        for number in range(1, count + 1)
    ]
    return VenueSeat.objects.bulk_create(seats)


@transaction.atomic
def venue_create(
    *,
    organization: Organization,
    name: str,
    rows: Sequence[LayoutRow],
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


def _rows(labels: str, seats: int, grade: str) -> list[LayoutRow]:
    return [(label, seats, grade) for label in labels]


# The SPEC's three venues: name -> layout (front rows are the better grades).
SEED_VENUES: dict[str, list[LayoutRow]] = {
    # 50 seats: 5 rows of 10 -> VIP 10, R 10, S 20, A 10
    "항해 콘서트장": _rows("A", 10, "VIP") + _rows("B", 10, "R") + _rows("CD", 10, "S") + _rows("E", 10, "A"),
    # 100 seats: 10 rows of 10 -> VIP 20, R 20, S 30, A 30
    "스파르타 콘서트장": _rows("AB", 10, "VIP") + _rows("CD", 10, "R") + _rows("EFG", 10, "S") + _rows("HIJ", 10, "A"),
    # 1,000 seats: 25 rows of 40 -> VIP 120, R 200, S 320, A 360
    "예술의 전당 콘서트장": _rows("ABC", 40, "VIP")
    + _rows("DEFGH", 40, "R")
    + _rows("IJKLMNOP", 40, "S")
    + _rows("QRSTUVWXY", 40, "A"),
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
    for name, rows in SEED_VENUES.items():
        with transaction.atomic():
            venue, created = Venue.objects.get_or_create(name=name, defaults={"organization": organization})
            if not venue.seats.exists():
                venue_layout_generate(venue=venue, rows=rows)
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
    ShowSeat.objects.bulk_create(
        ShowSeat(show=show, row=seat.row, row_index=seat.row_index, number=seat.number, grade=seat.grade)
        for seat in layout
    )
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
    group, _ = Group.objects.get_or_create(name=ORGANIZER_GROUP)
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
