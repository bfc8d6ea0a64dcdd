"""Mails to fans (Django's e-mail framework, EMAIL_* settings): written in the fan's language and
sent by Celery tasks that retry when the mail server fails. Each app's notices module decides what
a mail says and that it goes once; this module is how any of them is written and sent."""

import contextlib
from collections.abc import Iterator
from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation


def mail_task(name: str):
    """A Celery task that sends one mail: retried with backoff while the mail server fails (the
    notice it calls sends at most once, so a retry never sends twice)."""
    return shared_task(
        name=name,
        ignore_result=True,
        soft_time_limit=30,
        time_limit=60,
        autoretry_for=(SMTPException, OSError),
        retry_backoff=True,
        max_retries=5,
    )


@contextlib.contextmanager
def in_language_of(fan) -> Iterator[None]:
    """Write texts in the language the fan last used (else the site's)."""
    with translation.override(fan.language or settings.LANGUAGE_CODE):
        yield


def mail_fan(fan, *, subject: str, paragraphs: list[str]) -> None:
    send_mail(subject, "\n\n".join(paragraphs), settings.DEFAULT_FROM_EMAIL, [fan.email])
