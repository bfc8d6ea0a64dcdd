from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Wallet(models.Model):
    """A fan's prepaid points (won). The balance changes only through points.services, and always
    together with a LedgerEntry: balance == sum of the wallet's ledger amounts."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    balance = models.BigIntegerField(_("balance"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_non_negative")]
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")

    def __str__(self) -> str:
        return f"Wallet of {self.user_id}: {self.balance}"


class LedgerEntryIsAppendOnly(Exception):
    """A programming error: ledger entries are never changed or deleted (the database refuses too)."""


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerEntryIsAppendOnly("Ledger entries cannot be updated.")

    def delete(self):
        raise LedgerEntryIsAppendOnly("Ledger entries cannot be deleted.")

    update.queryset_only = True
    delete.queryset_only = True


class LedgerEntry(models.Model):
    """One change of a wallet's balance. Append-only: written once by points.services, never
    updated or deleted (the model refuses, and a PostgreSQL trigger refuses UPDATE and DELETE).

    `amount` is signed (charges and refunds positive, payments and withdrawals negative) and
    `balance_after` is the wallet's balance right after it, so the entries of a wallet ordered by
    id form an unbroken chain: balance_after == previous balance_after + amount.
    """

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", _("charge")
        PAYMENT = "PAYMENT", _("payment")
        TICKET_REFUND = "TICKET_REFUND", _("ticket refund")
        WITHDRAWAL = "WITHDRAWAL", _("withdrawal")
        ADJUSTMENT = "ADJUSTMENT", _("adjustment")

    KEY_MAX_LENGTH = 100

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = models.BigIntegerField(_("amount"))
    balance_after = models.BigIntegerField(_("balance after"))
    # What caused it, named by the calling app ("reservation:42"), so points depends on no other app.
    reference = models.CharField(_("reference"), max_length=100, blank=True, default="")
    idempotency_key = models.CharField(_("idempotency key"), max_length=KEY_MAX_LENGTH, blank=True, default="")
    # Adjustments only: who made it and why.
    note = models.CharField(_("note"), max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_non_zero"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="ledger_balance_after_non_negative"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind__in=["CHARGE", "TICKET_REFUND"], amount__gt=0)
                    | models.Q(kind__in=["PAYMENT", "WITHDRAWAL"], amount__lt=0)
                    | models.Q(kind="ADJUSTMENT")
                ),
                name="ledger_amount_sign_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["wallet", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="ledger_unique_idempotency_key_per_wallet",
            ),
        ]
        indexes = [models.Index(fields=["wallet", "-id"], name="ledger_wallet_newest")]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+} -> {self.balance_after}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise LedgerEntryIsAppendOnly("Ledger entries cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerEntryIsAppendOnly("Ledger entries cannot be deleted.")


class ChargeReceipt(models.Model):
    """A charge's receipt mailed to the fan (points.notices), recorded so it is sent once (the
    ledger itself is append-only: nothing may be marked on its rows)."""

    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, primary_key=True, related_name="receipt")
    sent_at = models.DateTimeField(_("mailed at"))

    class Meta:
        verbose_name = _("charge receipt")
        verbose_name_plural = _("charge receipts")

    def __str__(self) -> str:
        return f"receipt of ledger entry {self.entry_id}"
