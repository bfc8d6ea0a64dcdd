"""The payment PIN's keyed hash (accounts.pins) and the upgrade of PINs stored by the old hasher."""

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import User
from accounts.pins import ALGORITHM
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_pin_is_stored_as_a_salted_hmac_that_the_database_alone_cannot_check(settings):
    one, two = UserFactory(), UserFactory()
    one.set_pin("123456")
    two.set_pin("123456")

    assert one.pin_hash.startswith(ALGORITHM + "$") and "123456" not in one.pin_hash
    assert one.pin_hash != two.pin_hash  # salted: equal PINs, different hashes
    assert one.check_pin("123456") and not one.check_pin("123457") and not one.check_pin("")
    # Whoever has the database but not the pepper cannot test a guess against the hash.
    settings.PIN_PEPPER = "another pepper"
    assert not one.check_pin("123456")


def test_a_pin_stored_by_the_old_slow_hasher_still_works_and_is_rewritten_on_success():
    fan = UserFactory(pin_hash=make_password("246810"))
    old = fan.pin_hash

    assert not fan.check_pin("000000")
    assert User.objects.get(pk=fan.pk).pin_hash == old  # a wrong PIN changes nothing

    assert fan.check_pin("246810")
    stored = User.objects.get(pk=fan.pk).pin_hash
    assert stored.startswith(ALGORITHM + "$") and stored == fan.pin_hash
    assert User.objects.get(pk=fan.pk).check_pin("246810")


def test_an_empty_pin_hash_matches_nothing():
    fan = UserFactory(pin_hash="")
    assert not fan.check_pin("") and not fan.check_pin("123456")
