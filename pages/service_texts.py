"""Texts the pages show that come from other apps (service field errors, model choice labels),
listed here so that `makemessages` puts them in the pages' catalogs; the views translate them with
gettext at display time."""

from django.utils.translation import gettext_noop

SERVICE_TEXTS = [
    # accounts.services.user_create
    gettext_noop("Enter a Korean mobile number like 010-1234-5678."),
    gettext_noop("Enter your name."),
    gettext_noop("The payment PIN is exactly 6 digits."),
    # accounts.validators (also the forms' and the model's)
    gettext_noop("A name may not contain control, invisible or text-direction characters."),
    gettext_noop("Choose a PIN that is not one repeated digit or a run like 123456."),
    # points.services
    gettext_noop("Enter a positive whole number of won."),
    gettext_noop("The amount is too large."),
    # reservations.services
    gettext_noop("Choose at least one seat."),
    gettext_noop("No such show."),
    # model choice labels shown on the pages
    gettext_noop("charge"),
    gettext_noop("payment"),
    gettext_noop("ticket refund"),
    gettext_noop("withdrawal"),
    gettext_noop("adjustment"),
    gettext_noop("held, awaiting payment"),
    gettext_noop("paid"),
    gettext_noop("hold expired unpaid"),
    gettext_noop("released after failed payments"),
    gettext_noop("refunded"),
]
