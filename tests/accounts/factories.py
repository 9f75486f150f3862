import factory

from accounts.models import Compartment, Team, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("correct-horse-battery-staple")
    time_zone = "Europe/Dublin"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    time_zone = "Europe/Dublin"


class CompartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compartment
        django_get_or_create = ("slug",)

    slug = "csea"
    name = "Child safety (CSEA)"
