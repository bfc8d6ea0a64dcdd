import factory

from accounts.models import Organization, User
from accounts.pins import pin_hash_make
from points.services import wallet_create

DEFAULT_PASSWORD = "correct-horse-42"
DEFAULT_PIN = "123456"
# The organization every test venue and concert belongs to unless a test says otherwise, and
# which the `organizer` fixture works for.
TEST_ORGANIZATION = "Test organizer"


def default_organization() -> Organization:
    return Organization.objects.get_or_create(name=TEST_ORGANIZATION)[0]


class OrganizationFactory(factory.django.DjangoModelFactory):
    """Another organization (an organizer with its own venues, concerts and staff)."""

    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organizer {n}")

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


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
