"""Every fan has a wallet from the start: opened on sign-up, in the sign-up's transaction."""

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import user_signed_up
from points.services import wallet_create


@receiver(user_signed_up)
def open_wallet_on_sign_up(sender, user: User, **kwargs) -> None:
    wallet_create(user=user)
