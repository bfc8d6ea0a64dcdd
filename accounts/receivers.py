"""A password change ends the user's API key, whichever way the password was changed (a page, the
admin, `manage.py changepassword`): Django's AbstractBaseUser.set_password leaves the new
password in `_password` until the save that stores it, and post_save fires within that save."""

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.services import user_api_key_revoke


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def revoke_api_key_on_password_change(sender, instance, created: bool, **kwargs) -> None:
    if not created and getattr(instance, "_password", None) is not None:
        user_api_key_revoke(user=instance)
