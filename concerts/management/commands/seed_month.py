import re
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from concerts.models import SeatGrade, Venue
from concerts.prices import seat_price_problem
from concerts.selectors import concert_get_by_ref
from concerts.services import month_shows_seed
from core.clock import clock
from core.exceptions import ApplicationError, ValidationFailed


def _month(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"The month is written YYYY-MM, e.g. 2026-12 (got {value!r}).")
    return int(match[1]), int(match[2])


def _price(value: str) -> tuple[str, int]:
    grade, _, won = value.partition("=")
    grade = grade.strip().upper()
    if grade not in SeatGrade.values or not re.fullmatch(r"-?\d+", won.strip()):
        raise CommandError(f"--price is GRADE=WON with a grade of {', '.join(SeatGrade.values)} (got {value!r}).")
    problem = seat_price_problem(int(won))
    if problem:
        raise CommandError(f"--price {grade}: {problem}")
    return grade, int(won)


def _booking_opens(value: str | None) -> datetime | None:
    if value is None:
        return None
    if value == "now":
        return clock.now()
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--booking-opens is 'now' or an ISO datetime (got {value!r}).")
    # A time without an offset is read in the project's time zone (Asia/Seoul).
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = (
        "Create a concert's shows for every Saturday and Sunday of a month, at the concert's show "
        "time, with a price per grade; booking opens on the last day of the previous month at 00:00 "
        "(Asia/Seoul) and closes at each show's start. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("concert", help="concert id or exact title")
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--venue", help="venue id or exact name (default: the concert's venue)")
        parser.add_argument(
            "--price",
            action="append",
            default=[],
            metavar="GRADE=WON",
            help="price of a grade, repeatable (default: the concert's default price for every grade)",
        )
        parser.add_argument("--booking-opens", metavar="now|ISO", help="override when booking opens")

    def handle(self, *args, **options) -> None:
        year, month = _month(options["month"])
        prices = dict(_price(value) for value in options["price"])
        booking_opens_at = _booking_opens(options["booking_opens"])
        try:
            concert = concert_get_by_ref(ref=options["concert"])
            venue = self._venue(options["venue"])
            result = month_shows_seed(
                concert=concert,
                year=year,
                month=month,
                venue=venue,
                prices=prices,
                booking_opens_at=booking_opens_at,
            )
        except ValidationFailed as exc:
            # What the service found wrong, in words (e.g. the concert's default price out of range).
            errors = exc.extra.get("errors") or {}
            details = [
                str(m) for messages in errors.values() for m in (messages if isinstance(messages, list) else [messages])
            ]
            raise CommandError(" ".join(details) or exc.message) from exc
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.extra or ''}".strip()) from exc

        for show in result.created:
            self.stdout.write(f"created show {show.pk}: {timezone.localtime(show.starts_at):%Y-%m-%d %a %H:%M}")
        self.stdout.write(
            f"{concert}: {len(result.created)} show(s) created, {len(result.existing)} already there "
            f"for {year}-{month:02d}."
        )

    def _venue(self, ref: str | None) -> Venue | None:
        if ref is None:
            return None
        venue = Venue.objects.filter(pk=int(ref)).first() if ref.isdigit() and len(ref) <= 18 else None
        venue = venue or Venue.objects.filter(name=ref).first()
        if venue is None:
            raise CommandError(f"No venue has the id or name {ref!r}.")
        return venue
