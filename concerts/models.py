"""The catalog: venues and their seat layout, concerts with their policies, shows and show seats.

A show copies its venue's layout into ShowSeat rows when it is created: those rows are what holds
and payments lock, and a later change of the venue's layout never touches a show already on sale.
"""

from datetime import time

from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from concerts.prices import seat_price_problem


class SeatGrade(models.TextChoices):
    VIP = "VIP", "VIP"
    R = "R", "R"
    S = "S", "S"
    A = "A", "A"


class Venue(models.Model):
    # Whose venue: its staff (and superusers) see it and put their concerts and shows in it.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="venues", verbose_name=_("organization")
    )
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("name in English"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A venue moved to another organization (superusers only) must not leave concerts or
        # shows of the old one in it.
        if self.pk is not None and self.organization_id is not None:
            org = self.organization_id
            if (
                Concert.objects.filter(venue=self.pk).exclude(organization=org).exists()
                or Show.objects.filter(venue=self.pk).exclude(concert__organization=org).exists()
            ):
                raise ValidationError({"organization": _("Concerts or shows of another organization use this venue.")})

    @property
    def name_localized(self) -> str:
        """The English name on pages shown in English (when there is one), else the Korean."""
        return self.name_en if self.name_en and translation.get_language() == "en" else self.name


def seat_label(section: str, row: str, number: int) -> str:
    """A seat's name on tickets, maps and the API: "B-5", or "1층 B-5" in a hall of sections.
    A row is never named like a grade (concerts.services.venue_layout_validate), so a label
    never reads as one."""
    return f"{section} {row}-{number}" if section else f"{row}-{number}"


class VenueSeat(models.Model):
    """One seat of a venue's layout: section (floor, balcony; "" in a hall of one), row label
    (e.g. "B"), number in the row, grade, and whether an aisle follows it."""

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="seats")
    section = models.CharField(_("section"), max_length=20, blank=True, default="")
    row = models.CharField(_("row"), max_length=5)
    # Rows are drawn in this order across the sections (labels like "AA" would not sort right as text).
    row_index = models.PositiveSmallIntegerField(_("row order"))
    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    grade = models.CharField(_("grade"), max_length=3, choices=SeatGrade.choices)
    # The maps leave a gap after this seat.
    aisle_after = models.BooleanField(_("aisle after this seat"), default=False)

    class Meta:
        ordering = ["venue", "row_index", "number"]
        constraints = [models.UniqueConstraint(fields=["venue", "section", "row", "number"], name="venue_seat_unique")]
        verbose_name = _("venue seat")
        verbose_name_plural = _("venue seats")

    def __str__(self) -> str:
        return seat_label(self.section, self.row, self.number)


def venue_fits_organization(venue_id: int | None, organization_id: int | None) -> bool:
    """A concert or show may use only a venue of its own organization (True while either is unset:
    the missing field has its own error)."""
    if venue_id is None or organization_id is None:
        return True
    return Venue.objects.filter(pk=venue_id, organization_id=organization_id).exists()


class AgeRating(models.TextChoices):
    ALL = "ALL", _("all ages")
    AGE_7 = "7", _("7 and over")
    AGE_12 = "12", _("12 and over")
    AGE_15 = "15", _("15 and over")
    AGE_19 = "19", _("19 and over")


# A poster is a file among the static files (served by the site itself, which is all the Content
# Security Policy's img-src allows): a relative path such as "posters/2026-iu.jpg".
_POSTER_PATH = RegexValidator(
    r"^(?!/)(?!.*\.\.)[\w./-]+\.(?:jpg|jpeg|png|webp|avif|gif|svg)$",
    _("A path among the static files, e.g. posters/2026-iu.jpg (jpg, png, webp, avif, gif or svg)."),
)


class Concert(models.Model):
    """A series of shows of one artist, with the policies of its waiting room and bookings."""

    # Whose concert: only its staff (and superusers) see and change it, its shows, sales and room.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="concerts", verbose_name=_("organization")
    )
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    artist = models.CharField(_("artist"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    running_minutes = models.PositiveSmallIntegerField(
        _("running time, minutes"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    age_rating = models.CharField(_("age rating"), max_length=3, choices=AgeRating.choices, blank=True)
    poster_path = models.CharField(
        _("poster image"),
        max_length=200,
        blank=True,
        validators=[_POSTER_PATH],
        help_text=_("A path among the static files, e.g. posters/2026-iu.jpg."),
    )
    # Empty: a draft, seen only in the admin (not on the fan pages, the API or the waiting room).
    published_at = models.DateTimeField(
        _("published at"),
        null=True,
        blank=True,
        default=timezone.now,
        help_text=_("Empty: a draft, seen only here. Fans see the concert once it has a publication time."),
    )
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="concerts", verbose_name=_("default venue"))
    created_at = models.DateTimeField(auto_now_add=True)

    # Defaults for new shows (SPEC "Venues, concerts, shows, seats"): the start time (Asia/Seoul)
    # of the shows seed_month creates, and the price of every grade unless the organizer sets one.
    show_time = models.TimeField(_("show start time (Asia/Seoul)"), default=time(19, 0))
    default_price = models.PositiveIntegerField(_("default price per seat (won)"), default=100_000)

    # Waiting room policies (SPEC "Waiting room").
    queue_max_waiting = models.PositiveIntegerField(
        _("waiting users, maximum"), default=10_000, validators=[MinValueValidator(1)]
    )
    queue_active_size = models.PositiveIntegerField(
        _("admitted users at once"), default=20, validators=[MinValueValidator(1)]
    )
    session_minutes = models.PositiveIntegerField(
        _("admitted session, minutes without a hold"), default=20, validators=[MinValueValidator(1)]
    )
    prequeue_minutes = models.PositiveIntegerField(
        _("pre-queue opens, minutes before booking opens"),
        default=30,
        help_text=_("Fans who enter in this time are placed in a random order when booking opens (0: no pre-queue)."),
    )
    abandon_after_minutes = models.PositiveIntegerField(
        _("waiting fan loses the place after not polling for, minutes"), default=5, validators=[MinValueValidator(1)]
    )
    admissions_per_minute = models.PositiveIntegerField(
        _("new admissions per minute, maximum"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Besides the admitted users at once; empty: unlimited."),
    )
    # Set by the waiting room's pause / resume (queueing.services.queue_set_paused), not by the
    # form: PostgreSQL keeps it so that a Redis restart does not resume admission (Redis is
    # re-seeded from it when its copy is missing).
    queue_paused = models.BooleanField(_("admission paused"), default=False, editable=False)
    # Hold and payment policies (SPEC "Holds, payment, refunds").
    hold_minutes = models.PositiveIntegerField(
        _("hold time before payment, minutes"), default=5, validators=[MinValueValidator(1)]
    )
    seats_per_user = models.PositiveIntegerField(
        _("seats per user per show"), default=4, validators=[MinValueValidator(1)]
    )
    max_payment_attempts = models.PositiveIntegerField(
        _("failed payment attempts before removal"), default=5, validators=[MinValueValidator(1)]
    )
    refund_days_before = models.PositiveIntegerField(_("ticket refund allowed until, days before the show"), default=3)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("concert")
        verbose_name_plural = _("concerts")

    def __str__(self) -> str:
        return f"{self.artist} — {self.title}"

    @property
    def poster_url(self) -> str | None:
        """The poster's URL on this site; None without one, or when its file is missing from the
        static files (the manifest storage refuses an unknown file: no page breaks for it)."""
        if not self.poster_path:
            return None
        try:
            return static(self.poster_path)
        except ValueError:
            return None

    @property
    def title_localized(self) -> str:
        """The English title on pages shown in English (when there is one), else the Korean."""
        return self.title_en if self.title_en and translation.get_language() == "en" else self.title

    def clean(self) -> None:
        errors = {}
        problem = seat_price_problem(self.default_price) if self.default_price is not None else None
        if problem:
            errors["default_price"] = problem
        if self.poster_path and _POSTER_PATH.regex.match(self.poster_path) and not finders.find(self.poster_path):
            errors["poster_path"] = _("No static file has this path: add the image under static/ first.")
        if not venue_fits_organization(self.venue_id, self.organization_id):
            errors["venue"] = _("This venue belongs to another organization.")
        elif (
            self.pk is not None
            and self.organization_id is not None
            and Show.objects.filter(concert=self.pk).exclude(venue__organization=self.organization_id).exists()
        ):
            errors["organization"] = _("Shows of this concert are in venues of another organization.")
        if errors:
            raise ValidationError(errors)


# The waiting-room policy fields of a concert, in the order the admin shows them and the queue
# reads them (queueing.selectors.QueuePolicy).
WAITING_ROOM_POLICY_FIELDS = (
    "queue_max_waiting",
    "queue_active_size",
    "session_minutes",
    "prequeue_minutes",
    "abandon_after_minutes",
    "admissions_per_minute",
)


class Show(models.Model):
    """One date of a concert. Booking is open from booking_opens_at until booking_closes_at."""

    concert = models.ForeignKey(Concert, on_delete=models.PROTECT, related_name="shows")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="shows")
    starts_at = models.DateTimeField(_("starts at"))
    booking_opens_at = models.DateTimeField(_("booking opens at"))
    booking_closes_at = models.DateTimeField(_("booking closes at"))
    # Set once by reservations.services.show_cancel: a cancelled show is never bookable again.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at"]
        permissions = [("cancel_show", "Can cancel a show and refund every ticket")]
        constraints = [
            models.UniqueConstraint(fields=["concert", "starts_at"], name="show_unique_start"),
            models.CheckConstraint(
                condition=models.Q(booking_opens_at__lt=models.F("booking_closes_at"))
                & models.Q(booking_closes_at__lte=models.F("starts_at")),
                name="show_booking_window_before_start",
            ),
        ]
        verbose_name = _("show")
        verbose_name_plural = _("shows")

    def __str__(self) -> str:
        return f"{self.concert} @ {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        """The booking window's rule (the show_booking_window_before_start constraint), as an error
        on the field that is wrong: a field in error is then left out of the constraint's check."""
        starts, opens, closes = self.starts_at, self.booking_opens_at, self.booking_closes_at
        errors: dict[str, str] = {}
        if starts is not None and closes is not None and closes > starts:
            errors["booking_closes_at"] = _("Booking must close no later than the show starts.")
        if opens is not None and starts is not None and opens >= starts:
            errors["booking_opens_at"] = _("Booking must open before the show starts.")
        elif opens is not None and closes is not None and opens >= closes:
            errors["booking_opens_at"] = _("Booking must open before it closes.")
        concert = Concert.objects.filter(pk=self.concert_id).first() if self.concert_id else None
        if concert is not None and not venue_fits_organization(self.venue_id, concert.organization_id):
            errors["venue"] = _("This venue belongs to another organization.")
        if errors:
            raise ValidationError(errors)


class ShowGradePrice(models.Model):
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="grade_prices")
    grade = models.CharField(_("grade"), max_length=3, choices=SeatGrade.choices)
    price = models.PositiveIntegerField(_("price (won)"))

    class Meta:
        ordering = ["show", "grade"]
        constraints = [models.UniqueConstraint(fields=["show", "grade"], name="show_grade_price_unique")]
        verbose_name = _("grade price")
        verbose_name_plural = _("grade prices")

    def __str__(self) -> str:
        return f"{self.grade}: {self.price}"

    def clean(self) -> None:
        problem = seat_price_problem(self.price) if self.price is not None else None
        if problem:
            raise ValidationError({"price": problem})


class ShowSeatStatus(models.TextChoices):
    AVAILABLE = "AVAILABLE", _("available")
    HELD = "HELD", _("held")
    SOLD = "SOLD", _("sold")


class ShowSeat(models.Model):
    """A seat of one show: the row that holds and payments lock.

    A HELD seat whose held_until has passed counts as available at once, before any job
    releases it (see concerts.selectors).
    """

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="seats")
    section = models.CharField(_("section"), max_length=20, blank=True, default="")
    row = models.CharField(_("row"), max_length=5)
    row_index = models.PositiveSmallIntegerField(_("row order"))
    number = models.PositiveSmallIntegerField(_("number"))
    grade = models.CharField(_("grade"), max_length=3, choices=SeatGrade.choices)
    aisle_after = models.BooleanField(_("aisle after this seat"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ShowSeatStatus.choices, default=ShowSeatStatus.AVAILABLE
    )
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)

    class Meta:
        ordering = ["show", "row_index", "number"]
        constraints = [
            models.UniqueConstraint(fields=["show", "section", "row", "number"], name="show_seat_unique"),
            models.CheckConstraint(
                condition=~models.Q(status=ShowSeatStatus.HELD) | models.Q(held_until__isnull=False),
                name="show_seat_held_has_deadline",
            ),
        ]
        indexes = [models.Index(fields=["show", "status"], name="show_seat_show_status")]
        verbose_name = _("show seat")
        verbose_name_plural = _("show seats")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return seat_label(self.section, self.row, self.number)
