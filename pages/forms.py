"""The fan pages' forms: they only parse input; every rule is checked by the services."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_person_name
from core.exceptions import ValidationFailed


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
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-mail (optional)"),
        required=False,
        help_text=_("Only to tell you when a show you booked is cancelled."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


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


class AmountForm(IdempotentForm):
    amount = forms.IntegerField(
        label=_("Amount (won)"), min_value=1, widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1})
    )


class WithdrawForm(AmountForm):
    pin = forms.CharField(
        label=_("Payment PIN"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class PinForm(IdempotentForm):
    pin = forms.CharField(
        label=_("Payment PIN"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}),
    )


class HoldForm(forms.Form):
    seat_ids = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": _("Choose at least one seat.")})

    def __init__(self, *args, seat_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seat_ids"].choices = [(seat_id, seat_id) for seat_id in seat_ids]


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
