"""Receivers that end API keys.

A password change ends the user's API key, whichever way the password was changed (a page, the
admin, `manage.py changepassword`): Django's AbstractBaseUser.set_password leaves the new
password in `_password` until the save that stores it, and post_save fires within that save.

A revoked API key stops working at once, not when its cache entry lapses: deleting a token (the
admin's *Tokens*) or deactivating its user drops the key from the Redis cache that the queue
endpoints trust (accounts.authentication), after the change commits, so a request racing it
cannot put the old answer back."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from accounts.authentication import api_key_forget
from accounts.services import user_api_key_revoke


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_api_key_on_password_change(sender, instance, created: bool, **kwargs) -> None:
    if not created and getattr(instance, "_password", None) is not None:
        user_api_key_revoke(user=instance)


@receiver(post_delete, sender=Token)
def forget_deleted_api_key(sender, instance: Token, **kwargs) -> None:
    key = instance.key  # now: Django clears a deleted instance's primary key, which is the key
    transaction.on_commit(lambda: api_key_forget(key))


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def forget_api_key_of_deactivated_user(sender, instance, **kwargs) -> None:
    if instance.is_active:
        return
    for key in Token.objects.filter(user=instance).values_list("key", flat=True):
        transaction.on_commit(lambda key=key: api_key_forget(key))
