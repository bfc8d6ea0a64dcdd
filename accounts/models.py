from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.pins import pin_hash_check, pin_hash_is_current, pin_hash_make
from accounts.validators import validate_person_name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **fields) -> "User":
        # Used by Django itself (createsuperuser, tests); the product creates users through
        # accounts.services.user_create, which validates and also opens the wallet.
        user = self.model(phone=phone, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(phone, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A fan or an organizer. The mobile phone (stored as 010-XXXX-XXXX) is the login."""

    phone = models.CharField(_("phone"), max_length=13, unique=True)
    name = models.CharField(_("name"), max_length=50, validators=[validate_person_name])
    # A keyed hash (accounts.pins): the PIN is never stored in clear.
    # Optional: where notices (a cancelled show) are sent; fans without one are called instead.
    email = models.EmailField(_("e-mail"), blank=True, default="")
    # The language the fan last used (sign-up, log-in): notices are written in it.
    language = models.CharField(_("language"), max_length=10, blank=True, default="", choices=settings.LANGUAGES)
    pin_hash = models.CharField(_("payment PIN (hashed)"), max_length=128, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"

    def set_pin(self, pin: str) -> None:
        self.pin_hash = pin_hash_make(pin)

    def pin_check_is_slow(self) -> bool:
        """The PIN is still stored by the earlier slow hasher (PBKDF2, about 0.4 s of CPU to check)."""
        return bool(self.pin_hash) and not pin_hash_is_current(self.pin_hash)

    def check_pin(self, pin: str) -> bool:
        """Check the PIN; a PIN stored by the earlier slow hasher is rewritten in the current form
        on its first success (only if nobody changed it meanwhile)."""
        stored = self.pin_hash
        ok = pin_hash_check(pin, stored)
        if ok and not pin_hash_is_current(stored):
            self.pin_hash = pin_hash_make(pin)
            User.objects.filter(pk=self.pk, pin_hash=stored).update(pin_hash=self.pin_hash)
        return ok


class Organization(models.Model):
    """An organizer (a promoter, a hall's own booking office): its staff members see and change
    only its venues and concerts in the back-office (what they may do comes from their groups'
    permissions, e.g. Organizers; where, from their organizations). Superusers see every one."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        User,
        related_name="organizations",
        blank=True,
        limit_choices_to={"is_staff": True},
        verbose_name=_("members"),
        help_text=_("Staff members who work for this organization."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name
