"""Signals accounts sends for the apps above it, so it need not import them."""

from django.dispatch import Signal

# Sent by accounts.services.user_create inside the sign-up's transaction, with `user`: a receiver's
# writes commit or roll back with the new user (points opens the wallet: no user without one).
# Sent with `send`, not `send_robust`: a receiver's error fails the sign-up.
user_signed_up = Signal()
