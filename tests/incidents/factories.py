import factory
from django.utils import timezone

from incidents.models import Channel, Comment, HarmCategory, Incident, Severity, Status, TimelineEvent


def harm_category(slug: str = "dangerous-challenges") -> HarmCategory:
    return HarmCategory.objects.get(slug=slug)


class IncidentFactory(factory.django.DjangoModelFactory):
    """A bare row for read-side tests; behaviour tests create incidents through the services."""

    class Meta:
        model = Incident

    reference = factory.Sequence(lambda n: f"INC-1999-{n + 1:05d}")
    title = factory.Sequence(lambda n: f"Test incident {n}")
    summary = "Something happened."
    channel = Channel.INTERNAL_DETECTION
    severity = Severity.SEV3
    status = Status.NEW
    harm_category = factory.LazyFunction(harm_category)
    created_at = factory.LazyFunction(timezone.now)


class TimelineEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEvent

    incident = factory.SubFactory(IncidentFactory)
    at = factory.LazyFunction(timezone.now)
    kind = "key_moment"
    summary = "Something notable."


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    incident = factory.SubFactory(IncidentFactory)
    body = "A comment."
    body_html = "<p>A comment.</p>"
