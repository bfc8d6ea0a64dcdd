"""The fan pages' forms: they only parse input; every rule is checked by the services."""

import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_person_name
from core.exceptions import ValidationFailed
from core.money import won_format


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, validators=[validate_person_name])
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        help_text=_("For example 010-1234-5678"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    pin = forms.CharField(
        label=_("Payment PIN (6 digits)"),
        max_length=6,
        help_text=_("You enter it at every payment and withdrawal. Not one repeated digit or a run like 123456."),
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    pin_confirm = forms.CharField(
        label=_("Payment PIN again"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("Only to tell you when a show you booked is cancelled."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean(self) -> dict:
        """The PIN is masked, so it is asked twice; only one goes on to the service."""
        cleaned = super().clean()
        confirm = cleaned.pop("pin_confirm", None)
        if cleaned.get("pin") and confirm is not None and confirm != cleaned["pin"]:
            self.add_error("pin_confirm", _("The two PINs differ. Enter the same 6 digits twice."))
        return cleaned


class LoginForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), strip=False
    )


class IdempotentForm(forms.Form):
    """Carries a fresh key per rendered form, so a double submit changes nothing twice."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class WonField(forms.CharField):
    """A whole number of won typed as text (inputmode=numeric): a number input would drop letters in
    the browser and the server would only see an empty field. Digits with thousands separators,
    spaces or a trailing 원 are read; anything else is "enter a whole number of won"."""

    default_error_messages = {"invalid": _("Enter a whole number of won, in digits (for example 10000).")}

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value) -> int | None:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        digits = text.replace(",", "").replace(" ", "").removesuffix("원").removeprefix("₩")
        if not digits.isascii() or not digits.isdigit():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(digits)


class AmountForm(IdempotentForm):
    """A charge: the amount within WALLET_CHARGE_MIN..WALLET_CHARGE_MAX (the service checks the same
    limits; the form says them before any work)."""

    amount = WonField(label=_("Amount (won)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].error_messages["required"] = self.range_message()

    def range_message(self) -> str:
        return _("One charge must be between %(min)s and %(max)s.") % {
            "min": won_format(settings.WALLET_CHARGE_MIN),
            "max": won_format(settings.WALLET_CHARGE_MAX),
        }

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if not settings.WALLET_CHARGE_MIN <= amount <= settings.WALLET_CHARGE_MAX:
            raise forms.ValidationError(self.range_message(), code="out_of_range")
        return amount


class WithdrawForm(IdempotentForm):
    """A withdrawal: at least 1 won and at most the balance (given by the view when known; the
    service checks it again under the wallet's lock)."""

    amount = WonField(label=_("Amount (won)"))
    pin = forms.CharField(
        label=_("Payment PIN"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, balance: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.balance = balance
        self.fields["amount"].error_messages["required"] = self.range_message()

    def range_message(self) -> str:
        if self.balance is None:
            return _("Withdraw at least %(min)s, at most your balance.") % {"min": won_format(1)}
        if self.balance < 1:
            return _("Your balance is %(balance)s: there is nothing to withdraw.") % {"balance": won_format(0)}
        return _("Withdraw at least %(min)s and at most your balance, %(balance)s.") % {
            "min": won_format(1),
            "balance": won_format(self.balance),
        }

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount < 1 or (self.balance is not None and amount > self.balance):
            raise forms.ValidationError(self.range_message(), code="out_of_range")
        return amount


class PinForm(IdempotentForm):
    pin = forms.CharField(
        label=_("Payment PIN"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )


class SeatIdsField(forms.TypedMultipleChoiceField):
    """Seat ids, each one of `seat_ids` (the seats drawn on the page). Checked against the set, not
    as Django's choices: a hall's thousand choices were normalised anew for every form, which cost
    the seat map page more than everything else it does."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, **kwargs)
        self.seat_ids: frozenset[int] = frozenset()

    def valid_value(self, value) -> bool:
        # Digits only, as the page writes them (int() would also take "+1", " 1" or "1_0").
        return value.isascii() and value.isdigit() and len(value) <= 18 and int(value) in self.seat_ids


class HoldForm(forms.Form):
    seat_ids = SeatIdsField(error_messages={"required": _("Choose at least one seat.")})

    def __init__(self, *args, seat_ids: frozenset[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seat_ids"].seat_ids = seat_ids


class RefundForm(forms.Form):
    seat_id = forms.IntegerField(required=False, min_value=1)


def form_errors_from(form: forms.Form, error: ValidationFailed, translate) -> None:
    """Put a service's field errors ({field: [messages]}) on the form, translated when known."""
    errors = error.extra.get("errors") or {}
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages if isinstance(messages, list) else [messages]:
            form.add_error(target, translate(str(message)))


class BestAvailableForm(forms.Form):
    """Best available: how many seats together, in which grade (concerts.selectors.best_available_seats)."""

    grade = forms.ChoiceField(label=_("Grade"))
    count = forms.IntegerField(label=_("Seats together"), min_value=1)

    def __init__(self, *args, grades: list[str], limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [(grade, grade) for grade in grades]
        # The seat limit itself is the hold service's rule (SEAT_LIMIT_EXCEEDED); this only helps typing.
        self.fields["count"].widget.attrs.update(max=limit, inputmode="numeric")


class PinChangeForm(forms.Form):
    """A new payment PIN, asked twice, authorised by the account's password (the current PIN is not
    asked: this is also how a fan who forgot it sets a new one). accounts.services.user_pin_change."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_pin = forms.CharField(
        label=_("New payment PIN (6 digits)"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    new_pin_confirm = forms.CharField(
        label=_("New payment PIN again"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("new_pin") and cleaned.get("new_pin_confirm") not in (None, cleaned["new_pin"]):
            self.add_error("new_pin_confirm", _("The two PINs differ. Enter the same 6 digits twice."))
        return cleaned


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's form (the new password twice, the password validators); the current password is
    checked by accounts.services.user_password_check, with the account's log-in slowdown."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The account page has two forms: the focus stays at the top, not in the second one.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)

    def clean_old_password(self) -> str:
        return self.cleaned_data["old_password"]
