import factory

from accounts.models import User
from accounts.pins import pin_hash_make
from points.services import wallet_create

DEFAULT_PASSWORD = "correct-horse-42"
DEFAULT_PIN = "123456"


class UserFactory(factory.django.DjangoModelFactory):
    """A fan with a wallet, password DEFAULT_PASSWORD and PIN DEFAULT_PIN."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"010-{n // 10000 % 10000:04d}-{n % 10000:04d}")
    name = factory.Faker("name", locale="ko_KR")
    password = factory.django.Password(DEFAULT_PASSWORD)
    pin_hash = factory.LazyFunction(lambda: pin_hash_make(DEFAULT_PIN))

    @factory.post_generation
    def wallet(obj, create, extracted, **kwargs):
        if create:
            wallet_create(user=obj)
