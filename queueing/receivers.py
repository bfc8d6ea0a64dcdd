"""A revoked API key stops working at once, not when its cache entry lapses: deleting a token
(the admin's *Tokens*) or deactivating its user drops the key from the Redis cache that the
queue endpoints trust (queueing.authentication), after the change commits, so a request racing
it cannot put the old answer back."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from queueing.authentication import api_key_forget


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
