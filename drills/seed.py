"""Seed a run's database (the load test's, the fault drill's): the SPEC venues, one concert with
one 1,000-seat show at 예술의 전당 콘서트장 (booking open now), and N fans with API tokens and
charged wallets.

    DJANGO_SETTINGS_MODULE=drills.settings DATABASE_URL=... python -m drills.seed --fans 5000 --out fans.json

The fans are written in bulk (a few seconds for 10,000): one password hash and one PIN hash are
computed once and shared, every fan gets an API token, a wallet and one CHARGE ledger entry whose
amount and balance_after equal the wallet's balance, exactly what wallet_charge would have written
(so check_ledger holds). Writes the fans (user id, API token, PIN, balance; with --web-share, a
logged-in session for that share of them) and the concert and show ids as JSON for the locust fans.
"""

import argparse
import json
import math
import random
import sys
from datetime import timedelta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fans", type=int, default=5000)
    parser.add_argument("--active-size", type=int, default=100, help="concert.queue_active_size")
    parser.add_argument("--hold-minutes", type=int, default=1, help="concert.hold_minutes")
    parser.add_argument("--poor-share", type=float, default=0.05, help="fans charged too little to pay")
    parser.add_argument("--venue", default=LOAD_VENUE, help="one of the seed venues")
    parser.add_argument(
        "--web-share", type=float, default=0.0, help="fans logged in on the website too (a session each)"
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    import django

    django.setup()
    seeded = seed(
        fans=args.fans,
        active_size=args.active_size,
        hold_minutes=args.hold_minutes,
        poor_share=args.poor_share,
        venue_name=args.venue,
        rng=random.Random(args.seed),
        web_share=args.web_share,
    )
    with open(args.out, "w") as fh:
        json.dump(seeded, fh)
    print(
        f"seeded concert {seeded['concert_id']} show {seeded['show_id']} ({seeded['seats']} seats), "
        f"{len(seeded['fans'])} fans"
    )
    return 0


LOAD_VENUE = "예술의 전당 콘서트장"  # 1,000 seats
FAN_PIN = "135790"
FAN_PASSWORD = "load-test-password"  # noqa: S105 - throw-away load database only
PRICES = {"VIP": 150_000, "R": 120_000, "S": 100_000, "A": 80_000}
RICH_BALANCE = 1_000_000  # enough for 4 VIP seats with room to spare
POOR_BALANCE = 50_000  # less than any seat: the payment answers 402 INSUFFICIENT_BALANCE
PHONE_BASE = 50_000_000  # fans are 010-5000-0000, 010-5000-0001, ...


def seed(
    *,
    fans: int,
    active_size: int,
    hold_minutes: int,
    poor_share: float,
    rng: random.Random,
    venue_name: str = "",
    web_share: float = 0.0,
) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts.authentication import api_key_expires_at, api_key_new, api_key_remember
    from accounts.models import User
    from accounts.pins import pin_hash_make
    from accounts.services import organization_get_or_create
    from concerts.models import Concert, Venue
    from concerts.services import DEFAULT_ORGANIZATION, show_create, venues_seed
    from core.clock import clock
    from points.models import LedgerEntry, Wallet

    venues_seed(organization=organization_get_or_create(name=DEFAULT_ORGANIZATION))
    venue = Venue.objects.get(name=venue_name or LOAD_VENUE)
    now = clock.now()
    concert = Concert.objects.create(
        title="Load test: on-sale rush",
        artist="Stagegate Load",
        organization=venue.organization,
        venue=venue,
        queue_max_waiting=max(10_000, fans),
        queue_active_size=active_size,
        hold_minutes=hold_minutes,
    )
    # A show a month away (refunds allowed), booking open since a minute ago.
    show = show_create(
        concert=concert,
        starts_at=(now + timedelta(days=30)).replace(microsecond=0),
        booking_opens_at=now - timedelta(minutes=1),
        prices=PRICES,
    )

    password_hash = make_password(FAN_PASSWORD)
    out = []
    batch = 2000
    for start in range(0, fans, batch):
        with transaction.atomic():
            count = min(batch, fans - start)
            users = User.objects.bulk_create(
                User(
                    phone=_phone(PHONE_BASE + start + i),
                    name=f"팬{start + i}",
                    password=password_hash,
                    pin_hash=pin_hash_make(FAN_PIN),
                    date_joined=now,
                )
                for i in range(count)
            )
            balances = [POOR_BALANCE if rng.random() < poor_share else RICH_BALANCE for _ in users]
            wallets = Wallet.objects.bulk_create(
                Wallet(user=user, balance=balance) for user, balance in zip(users, balances, strict=True)
            )
            LedgerEntry.objects.bulk_create(
                LedgerEntry(
                    wallet=wallet,
                    kind=LedgerEntry.Kind.CHARGE,
                    amount=balance,
                    balance_after=balance,
                    reference="loadtest:seed",
                    created_at=now,
                )
                for wallet, balance in zip(wallets, balances, strict=True)
            )
            # the keys log-in issues (accounts.services.user_api_key_issue)
            tokens = Token.objects.bulk_create(Token(key=api_key_new(user_id=user.pk), user=user) for user in users)
            for token in tokens:  # the fans logged in before the on-sale: log-in caches the key
                api_key_remember(token.key, token.user_id, expires_at=api_key_expires_at(token.created))
            for index, (user, token, balance) in enumerate(zip(users, tokens, balances, strict=True), start):
                fan = {"user_id": user.pk, "token": token.key, "balance": balance}
                # A share of the fans, spread evenly, also logged in on the website before the
                # on-sale: they wait through the fan pages (loadtest.rush), with the session the
                # log-in page would make.
                if math.floor((index + 1) * web_share) > math.floor(index * web_share):
                    fan["session"] = web_session_create(user)
                out.append(fan)
    return {
        "concert_id": concert.pk,
        "show_id": show.pk,
        "seats": show.seats.count(),
        "pin": FAN_PIN,
        "fans": out,
    }


def web_session_create(user) -> str:
    """A logged-in session of the user (an accounts.models.User), as django.contrib.auth.login
    stores it; its key."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _phone(n: int) -> str:
    digits = f"{n:08d}"
    return f"010-{digits[:4]}-{digits[4:]}"


if __name__ == "__main__":
    sys.exit(main())
