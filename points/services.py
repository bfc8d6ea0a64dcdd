from accounts.models import User
from points.models import Wallet


def wallet_create(*, user: User) -> Wallet:
    return Wallet.objects.create(user=user)
