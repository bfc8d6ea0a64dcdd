"""The fan pages: each view parses the request, calls one service or selector, and renders.

Every rule (limits, windows, who may book) lives in the services; a refusal arrives as an
ApplicationError, which the view explains in words and links to what the fan can do next.
"""

import contextlib
import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import BadCredentials, LoginSlowedDown, PhoneTaken, PinAttemptsLimited
from accounts.exceptions import WrongPin as AccountWrongPin
from accounts.services import user_api_key_revoke, user_authenticate, user_create
from concerts.exceptions import ConcertNotFound, ShowNotFound
from concerts.selectors import (
    ShowStatus,
    concert_get,
    concert_list,
    show_availability_list,
    show_get,
    show_list_for_concert,
    show_seat_list,
)
from core.clock import clock
from core.exceptions import RateLimited, ServiceUnavailable, ValidationFailed
from core.money import won_format
from pages.booking import (
    booking_session,
    payment_session_ok,
    session_queue_admitted_mark,
    session_queue_end_reason,
    session_queue_token,
    session_queue_token_forget,
    session_queue_token_store,
)
from pages.forms import (
    AmountForm,
    HoldForm,
    LoginForm,
    PinForm,
    RefundForm,
    SignupForm,
    WithdrawForm,
    form_errors_from,
)
from pages.seat_layout import seat_zones
from points.exceptions import AmountOutOfRange, BalanceCapExceeded, InsufficientBalance
from points.selectors import ledger_entry_list, wallet_balance
from points.services import wallet_charge, wallet_withdraw
from queueing.exceptions import BookingClosed, QueueFull, TokenNotFound
from queueing.exceptions import ConcertNotFound as QueueConcertNotFound
from queueing.ratelimit import client_ip
from queueing.selectors import QueueTokenStatus, concert_queue_policy, queue_status
from queueing.services import queue_enter, queue_leave
from reservations.exceptions import (
    AlreadyPaid,
    AlreadyRefunded,
    HoldExpired,
    NotRefundable,
    PaymentAttemptsExceeded,
    PaymentInsufficientBalance,
    RefundWindowClosed,
    ReservationNotFound,
    SeatLimitExceeded,
    SeatUnavailable,
    ShowNotBookable,
    WrongPin,
)
from reservations.models import Reservation, ReservationStatus
from reservations.selectors import (
    ledger_entry_bookings,
    refund_preview,
    reservation_get_for_user,
    reservation_list_for_user,
    reservation_seconds_left_to_pay,
)
from reservations.services import (
    refund_deadline,
    reservation_hold,
    reservation_is_payable,
    reservation_is_refundable,
    reservation_pay,
    reservation_refund,
)

LEDGER_PAGE_SIZE = 20

fan_required = login_required(login_url=reverse_lazy("pages:login"))


def outage_page(view):
    """The waiting room's store briefly unreachable: a page that says so (503 with Retry-After)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServiceUnavailable as exc:
            retry_after = exc.extra.get("retry_after_seconds")
            response = render(request, "pages/unavailable.html", {"retry_after_seconds": retry_after}, status=503)
            if retry_after:
                response["Retry-After"] = str(retry_after)
            return response

    return wrapper


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _waiting_room_url(concert_id: int, show_id: int | None = None) -> str:
    url = reverse("pages:waiting-room", args=[concert_id])
    return f"{url}?{urlencode({'show': show_id})}" if show_id else url


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = user_create(**form.cleaned_data, client_ip=client_ip(request))
            except RateLimited as exc:
                return _too_many(request, "pages/signup.html", form, exc)
            except ValidationFailed as exc:
                form_errors_from(form, exc, _)
            except PhoneTaken:
                form.add_error("phone", _("An account with this phone number already exists. Log in instead."))
                status = 409
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                welcome = _("Welcome, %(name)s! Charge points to be ready for the sale.") % {"name": user.name}
                messages.success(request, welcome)
                return redirect(_safe_next(request, reverse("pages:wallet")))
    return render(request, "pages/signup.html", {"form": form, "next": _safe_next(request, "")}, status=status)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = user_authenticate(
                    phone=form.cleaned_data["phone"],
                    password=form.cleaned_data["password"],
                    client_ip=client_ip(request),
                    request=request,
                )
            except RateLimited as exc:
                return _too_many(request, "pages/login.html", form, exc)
            except BadCredentials:
                form.add_error(None, _("The phone number or password is wrong."))
                status = 401
            else:
                login(request, user)
                return redirect(_safe_next(request, reverse("pages:concert-list")))
    return render(request, "pages/login.html", {"form": form, "next": _safe_next(request, "")}, status=status)


def _too_many(request: HttpRequest, template: str, form, exc: RateLimited) -> HttpResponse:
    """The form again with how long to wait: 429 with Retry-After (signup and log-in limits)."""
    wait = int(exc.extra.get("retry_after_seconds") or 1)
    if isinstance(exc, LoginSlowedDown):
        text = _("Too many failed log-ins for this account. Try again in %(seconds)s seconds.")
    else:
        text = _("Too many attempts. Try again in %(seconds)s seconds.")
    form.add_error(None, text % {"seconds": wait})
    response = render(request, template, {"form": form, "next": _safe_next(request, "")}, status=429)
    response["Retry-After"] = str(wait)
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        user_api_key_revoke(user=request.user)  # logging out ends the fan's API key too
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("pages:concert-list")


# ---------------------------------------------------------------------------------------------
# Concerts
# ---------------------------------------------------------------------------------------------
def concert_list_page(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/concert_list.html", {"concerts": concert_list(now=clock.now())})


# A countdown to the opening is shown once it is this close; before that, the date says enough.
OPENING_COUNTDOWN_FROM = timedelta(hours=24)


def _opening_context(policy, now: datetime) -> dict:
    """Before the sale: when booking opens (with a countdown on its last day) and when the
    waiting room's pre-queue opens."""
    if policy is None or policy.booking_open or policy.opens_at is None or policy.opens_at <= now:
        return {"next_opening": None}
    until = policy.opens_at - now
    return {
        "next_opening": policy.opens_at,
        "seconds_to_opening": int(until.total_seconds()) if until <= OPENING_COUNTDOWN_FROM else None,
        "prequeue_opens_at": policy.prequeue_opens_at if policy.prequeue_minutes else None,
    }


def concert_detail(request: HttpRequest, concert_id: int) -> HttpResponse:
    try:
        concert = concert_get(concert_id=concert_id)
    except ConcertNotFound as exc:
        raise Http404 from exc
    now = clock.now()
    shows = show_list_for_concert(concert=concert, now=now)
    policy = concert_queue_policy(concert_id=concert.pk, now=now)
    context = {
        "concert": concert,
        "now": now,
        "shows": shows,
        "any_open": any(s.status == ShowStatus.AVAILABLE for s in shows),
        # Before the sale: the pre-queue is open, everyone in it gets a fair random place at the opening.
        "prequeue_open": policy is not None and policy.in_prequeue(now),
        **_opening_context(policy, now),
        "booking_opens_at": min((s.show.booking_opens_at for s in shows), default=None),
        "booking_closes_at": max((s.show.booking_closes_at for s in shows), default=None),
        "in_queue": request.user.is_authenticated and session_queue_token(request, concert.pk) is not None,
    }
    return render(request, "pages/concert_detail.html", context)


# ---------------------------------------------------------------------------------------------
# Waiting room
# ---------------------------------------------------------------------------------------------
def _requested_show_id(request: HttpRequest, concert_id: int) -> int | None:
    raw = request.POST.get("show") or request.GET.get("show")
    if not raw or not raw.isdigit():
        return None
    try:
        show = show_get(show_id=int(raw))
    except ShowNotFound:
        return None
    return show.pk if show.concert_id == concert_id else None


@fan_required
@require_http_methods(["GET", "POST"])
@outage_page
def waiting_room(request: HttpRequest, concert_id: int) -> HttpResponse:
    """POST enters the room (then shows it); GET shows where the fan stands, live."""
    try:
        concert = concert_get(concert_id=concert_id)
    except ConcertNotFound as exc:
        raise Http404 from exc
    show_id = _requested_show_id(request, concert.pk)
    context = {"concert": concert, "show_id": show_id}

    if request.method == "POST":
        try:
            current = queue_enter(user_id=request.user.pk, concert_id=concert.pk, client_ip=client_ip(request))
        except RateLimited as exc:
            context["retry_after_seconds"] = exc.extra["retry_after_seconds"]
            context["rate_limited"] = True
            response = render(request, "pages/unavailable.html", context, status=429)
            response["Retry-After"] = str(context["retry_after_seconds"])
            return response
        except QueueFull as exc:
            context["retry_after_seconds"] = exc.extra.get("retry_after_seconds")
            response = render(request, "pages/queue_full.html", context, status=503)
            if context["retry_after_seconds"]:
                response["Retry-After"] = str(context["retry_after_seconds"])
            return response
        except BookingClosed:
            return render(request, "pages/sale_closed.html", context, status=409)
        except QueueConcertNotFound as exc:
            raise Http404 from exc
        session_queue_token_store(request, concert.pk, current.token)
        return redirect(_waiting_room_url(concert.pk, show_id))

    token = session_queue_token(request, concert.pk)
    if token is None:
        return render(request, "pages/queue_enter.html", context)
    try:
        current = queue_status(user_id=request.user.pk, token=token)
    except TokenNotFound:
        context["end_reason"] = session_queue_end_reason(request, concert.pk)
        session_queue_token_forget(request, concert.pk)
        return render(request, "pages/queue_expired.html", context, status=410)

    context["queue"] = current
    if current.status is QueueTokenStatus.ACTIVE:
        session_queue_admitted_mark(request, concert.pk)
        if show_id is not None:
            return redirect("pages:seat-map", show_id=show_id)
        context["now"] = clock.now()
        context["shows"] = show_list_for_concert(concert=concert, now=context["now"])
        return render(request, "pages/queue_admitted.html", context)
    context["next_url"] = reverse("pages:seat-map", args=[show_id]) if show_id else _waiting_room_url(concert.pk)
    context["poll_url"] = reverse("queue-token-current")
    # PREQUEUE (before booking opens): no position yet, a countdown to the opening instead.
    context["prequeue"] = current.status is QueueTokenStatus.PREQUEUE
    context["countdown"] = _countdown(current.seconds_until_open)
    return render(request, "pages/queue_waiting.html", context)


def _countdown(seconds: int | None) -> str:
    """h:mm:ss or m:ss (queue.js counts down in the same format)."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@fan_required
@require_POST
@outage_page
def waiting_room_leave(request: HttpRequest, concert_id: int) -> HttpResponse:
    token = session_queue_token(request, concert_id)
    if token is not None:
        with contextlib.suppress(TokenNotFound):  # already gone: leaving is done either way
            queue_leave(user_id=request.user.pk, token=token)
        session_queue_token_forget(request, concert_id)
    messages.info(request, _("You left the waiting room."))
    return redirect("pages:concert-detail", concert_id=concert_id)


def _not_admitted(request: HttpRequest, concert_id: int, show_id: int | None = None) -> HttpResponseRedirect:
    messages.warning(
        request, _("Booking needs your turn in the waiting room. Enter it, or wait until you are admitted.")
    )
    return redirect(_waiting_room_url(concert_id, show_id))


# ---------------------------------------------------------------------------------------------
# Seats and holds
# ---------------------------------------------------------------------------------------------
@fan_required
@require_http_methods(["GET", "POST"])
@outage_page
def seat_map(request: HttpRequest, show_id: int) -> HttpResponse:
    try:
        show = show_get(show_id=show_id)
    except ShowNotFound as exc:
        raise Http404 from exc
    concert = show.concert
    session = booking_session(request, concert.pk)
    if session is None:
        return _not_admitted(request, concert.pk, show.pk)

    now = clock.now()
    seats = list(show_seat_list(show=show, now=now))
    form = HoldForm(request.POST if request.method == "POST" else None, seat_ids=[seat.pk for seat in seats])
    status, error = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                reservation = reservation_hold(
                    user=request.user, show_id=show.pk, seat_ids=form.cleaned_data["seat_ids"]
                )
            except SeatUnavailable as exc:
                labels = ", ".join(seat["label"] for seat in exc.extra.get("seats", []))
                error = _("Sorry, these seats were just taken by someone else: %(seats)s. Choose others.") % {
                    "seats": labels
                }
                status = 409
            except SeatLimitExceeded as exc:
                error = _("One fan may have at most %(limit)s seats for this show (you already have %(already)s).") % {
                    "limit": exc.extra.get("limit"),
                    "already": exc.extra.get("already", 0),
                }
                status = 409
            except ShowNotBookable:
                error, status = _("This show cannot be booked any more."), 409
            except ValidationFailed as exc:
                form_errors_from(form, exc, _)
            else:
                return redirect("pages:payment", reservation_id=reservation.pk)
            seats = list(show_seat_list(show=show, now=clock.now()))
        if error is None:
            error = " ".join(str(e) for errors in form.errors.values() for e in errors) or None
    availability = show_availability_list(shows=[show], now=now)[0]
    context = {
        "show": show,
        "concert": concert,
        "availability": availability,
        "zones": seat_zones(seats, block_seats=settings.SEAT_MAP_BLOCK_SEATS),
        "overview": len(seats) > settings.SEAT_MAP_OVERVIEW_MIN_SEATS,
        "poll_seconds": settings.SEAT_MAP_POLL_SECONDS,
        "form": form,
        "error": error,
        "session": session,
        "seat_limit": concert.seats_per_user,
        "selected": set(form.cleaned_data.get("seat_ids", [])) if form.is_bound and form.is_valid() else set(),
    }
    return render(request, "pages/seat_map.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# Payment
# ---------------------------------------------------------------------------------------------
def _too_many_pins(wait_seconds: int) -> str:
    return _("Too many wrong PINs on this account. Try again in %(minutes)s minutes.") % {
        "minutes": -(-wait_seconds // 60)
    }


def _payment_state(reservation: Reservation) -> str:
    if reservation.status == ReservationStatus.RELEASED:
        return "released"
    if reservation_is_payable(reservation=reservation):
        return "payable"
    if reservation.status in (ReservationStatus.HELD, ReservationStatus.EXPIRED):
        return "expired"
    return "closed"


@fan_required
@require_http_methods(["GET", "POST"])
@never_cache  # the browser's Back after paying must ask the server again, not show a live-looking form
@outage_page
def payment(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = reservation_get_for_user(user=request.user, reservation_id=reservation_id)
    if reservation is None:
        raise Http404
    if reservation.status in (ReservationStatus.CONFIRMED, ReservationStatus.REFUNDED):
        messages.info(request, _("This reservation is already paid."))
        return redirect("pages:tickets")
    concert = reservation.show.concert
    state = _payment_state(reservation)
    if state == "payable" and not payment_session_ok(request, concert.pk):
        return _not_admitted(request, concert.pk)

    form = PinForm(request.POST if request.method == "POST" else None) if state == "payable" else None
    status, error, attempts_left, retry_after = 200, None, None, None
    if request.method == "POST" and form is None:  # submitted after the hold ended
        status = 422 if state == "released" else 410
    if request.method == "POST" and form is not None:
        status = 400
        if form.is_valid():
            try:
                result = reservation_pay(
                    user=request.user,
                    reservation_id=reservation.pk,
                    pin=form.cleaned_data["pin"],
                    idempotency_key=form.cleaned_data.get("idempotency_key") or None,
                )
            except WrongPin as exc:
                attempts_left = exc.extra.get("attempts_left")
                error, status = _("The payment PIN is wrong."), 422
            except PaymentInsufficientBalance as exc:
                attempts_left = exc.extra.get("attempts_left")
                error, status = "insufficient_balance", 402
            except PinAttemptsLimited as exc:
                retry_after = int(exc.extra["retry_after_seconds"])
                error, status = _too_many_pins(retry_after), 429
            except PaymentAttemptsExceeded:
                state, status = "released", 422
            except HoldExpired:
                state, status = "expired", 410
            except AlreadyPaid:
                return redirect("pages:tickets")
            else:
                messages.success(
                    request,
                    _("Paid %(amount)s. Your balance is now %(balance)s. Enjoy the show!")
                    % {"amount": won_format(result.paid_amount), "balance": won_format(result.balance)},
                )
                return redirect("pages:tickets")
            form = PinForm() if state == "payable" else None  # a fresh key for the next try
        reservation = reservation_get_for_user(user=request.user, reservation_id=reservation.pk)

    balance = wallet_balance(user=request.user)
    seconds_left = reservation_seconds_left_to_pay(reservation=reservation)
    context = {
        "reservation": reservation,
        "concert": concert,
        "show": reservation.show,
        "seats": [seat for seat in reservation.seats.all()],
        "state": state,
        "form": form,
        "error": error,
        "attempts_left": attempts_left,
        "balance": balance,
        "shortfall": max(0, reservation.amount - balance),
        "hold_seconds_left": seconds_left,
        "charge_url": f"{reverse('pages:wallet')}?{urlencode({'next': request.path})}",
    }
    response = render(request, "pages/payment.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# ---------------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------------
@fan_required
def tickets(request: HttpRequest) -> HttpResponse:
    now = clock.now()
    groups: dict[str, list] = {"held": [], "confirmed": [], "refunded": [], "ended": []}
    for reservation in reservation_list_for_user(user=request.user):
        deadline = refund_deadline(reservation)
        item = {
            "reservation": reservation,
            "seats": list(reservation.seats.all()),
            "refund_deadline": deadline,
            "refundable": reservation_is_refundable(reservation=reservation, now=now),
        }
        if reservation.status == ReservationStatus.CONFIRMED:
            groups["confirmed"].append(item)
        elif reservation.status == ReservationStatus.REFUNDED:
            groups["refunded"].append(item)
        elif reservation_is_payable(reservation=reservation):
            groups["held"].append(item)
        else:
            groups["ended"].append(item)
    return render(request, "pages/tickets.html", {"groups": groups})


@fan_required
@require_http_methods(["GET", "POST"])
def ticket_refund(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """GET: what the refund gives back and until when, to confirm; POST: refund."""
    form = RefundForm(request.POST if request.method == "POST" else request.GET)
    if request.method == "GET":
        seat_id = form.cleaned_data.get("seat_id") if form.is_valid() else None
        preview = refund_preview(user=request.user, reservation_id=reservation_id, seat_id=seat_id)
        if preview is None:
            raise Http404
        return render(request, "pages/refund_confirm.html", {"preview": preview, "seat_id": seat_id})
    if not form.is_valid():
        messages.error(request, _("Choose the tickets to refund."))
        return redirect("pages:tickets")
    seat_id = form.cleaned_data.get("seat_id")
    try:
        result = reservation_refund(
            actor=request.user, reservation_id=reservation_id, seat_ids=[seat_id] if seat_id else None
        )
    except RefundWindowClosed as exc:
        deadline = exc.extra.get("refund_deadline")
        text = _("The refund period for this show has ended, so these tickets can no longer be refunded.")
        if deadline:
            shown = datetime.fromisoformat(deadline)
            text += " " + _("Refunds were possible until %(deadline)s.") % {
                "deadline": formats.date_format(timezone.localtime(shown), "DATETIME_FORMAT")
            }
        messages.error(request, text)
    except AlreadyRefunded:
        messages.error(request, _("These tickets are already refunded."))
    except (NotRefundable, ReservationNotFound):
        messages.error(request, _("Only paid tickets can be refunded."))
    except ValidationFailed:
        messages.error(request, _("Choose the tickets to refund."))
    else:
        messages.success(
            request,
            _("Refunded %(amount)s to your points. Your balance is now %(balance)s.")
            % {"amount": won_format(result.refund.amount), "balance": won_format(result.balance)},
        )
    return redirect("pages:tickets")


# ---------------------------------------------------------------------------------------------
# Wallet
# ---------------------------------------------------------------------------------------------
def _wallet_render(request: HttpRequest, *, charge_form=None, withdraw_form=None, status: int = 200) -> HttpResponse:
    page = Paginator(ledger_entry_list(user=request.user), LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    balance = wallet_balance(user=request.user)
    context = {
        "balance": balance,
        "charge_min": settings.WALLET_CHARGE_MIN,
        "charge_max": settings.WALLET_CHARGE_MAX,
        "balance_cap": settings.WALLET_BALANCE_CAP,
        "charge_form": charge_form or AmountForm(prefix="charge"),
        "withdraw_form": withdraw_form or WithdrawForm(prefix="withdraw", balance=balance),
        "page": page,
        "bookings": ledger_entry_bookings(entries=page.object_list),
        "next": _safe_next(request, ""),
    }
    return render(request, "pages/wallet.html", context, status=status)


@fan_required
def wallet(request: HttpRequest) -> HttpResponse:
    return _wallet_render(request)


@fan_required
@require_POST
def wallet_charge_view(request: HttpRequest) -> HttpResponse:
    form = AmountForm(request.POST, prefix="charge")
    if not form.is_valid():
        return _wallet_render(request, charge_form=form, status=400)
    try:
        movement = wallet_charge(
            user=request.user,
            amount=form.cleaned_data["amount"],
            idempotency_key=form.cleaned_data.get("idempotency_key") or None,
        )
    except AmountOutOfRange as exc:
        form.add_error(
            "amount",
            _("One charge must be between %(min)s and %(max)s.")
            % {"min": won_format(exc.extra["min"]), "max": won_format(exc.extra["max"])},
        )
        return _wallet_render(request, charge_form=form, status=400)
    except BalanceCapExceeded as exc:
        room = max(0, exc.extra["cap"] - exc.extra["balance"])
        form.add_error(
            "amount",
            _("Your balance may not go over %(cap)s. You can charge at most %(room)s more.")
            % {"cap": won_format(exc.extra["cap"]), "room": won_format(room)},
        )
        return _wallet_render(request, charge_form=form, status=409)
    except ValidationFailed as exc:
        form_errors_from(form, exc, _)
        return _wallet_render(request, charge_form=form, status=400)
    messages.success(
        request,
        _("Charged %(amount)s. Your balance is now %(balance)s.")
        % {"amount": won_format(movement.entry.amount), "balance": won_format(movement.balance)},
    )
    return redirect(_safe_next(request, reverse("pages:wallet")))


@fan_required
@require_POST
def wallet_withdraw_view(request: HttpRequest) -> HttpResponse:
    form = WithdrawForm(request.POST, prefix="withdraw", balance=wallet_balance(user=request.user))
    if not form.is_valid():
        return _wallet_render(request, withdraw_form=form, status=400)
    try:
        movement = wallet_withdraw(
            user=request.user,
            amount=form.cleaned_data["amount"],
            pin=form.cleaned_data["pin"],
            idempotency_key=form.cleaned_data.get("idempotency_key") or None,
        )
    except AccountWrongPin:
        form.add_error("pin", _("The payment PIN is wrong."))
        return _wallet_render(request, withdraw_form=form, status=422)
    except PinAttemptsLimited as exc:
        wait = int(exc.extra["retry_after_seconds"])
        form.add_error("pin", _too_many_pins(wait))
        response = _wallet_render(request, withdraw_form=form, status=429)
        response["Retry-After"] = str(wait)
        return response
    except InsufficientBalance as exc:
        form.add_error(
            "amount",
            _("You can withdraw at most your balance, %(balance)s.") % {"balance": won_format(exc.extra["balance"])},
        )
        return _wallet_render(request, withdraw_form=form, status=409)
    except ValidationFailed as exc:
        form_errors_from(form, exc, _)
        return _wallet_render(request, withdraw_form=form, status=400)
    messages.success(
        request,
        _("Withdrew %(amount)s. Your balance is now %(balance)s.")
        % {"amount": won_format(-movement.entry.amount), "balance": won_format(movement.balance)},
    )
    return redirect("pages:wallet")
