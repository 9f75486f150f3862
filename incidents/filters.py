"""Query-string filters for incident lists (web queue and API)."""

from __future__ import annotations

import django_filters
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q

from accounts.models import Region
from incidents.models import Channel, Incident, Severity, Status

SEARCH_CONFIG = "english"


def search_condition(q: str) -> Q:
    """Full text over title, hashtags/keywords, summary and comments; a reference or a
    hashtag written as such also matches exactly."""
    q = q.strip()
    cond = Q(search_vector=SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch"))
    if q.upper().startswith("INC-"):
        cond |= Q(reference__iexact=q)
    if q.startswith("#") and len(q) > 1:
        cond |= Q(hashtags__contains=[q.lstrip("#").lower()])
    return cond


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    harm_category = django_filters.CharFilter(method="filter_harm_category", help_text="Harm category slug or id")
    region = django_filters.MultipleChoiceFilter(choices=Region.choices, distinct=False)
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    commander = django_filters.CharFilter(method="filter_commander", help_text="User id, username, 'me' or 'none'")
    is_open = django_filters.BooleanFilter(method="filter_open", label="open", help_text="Only open (true) or only finished (false)")
    q = django_filters.CharFilter(method="filter_q", max_length=500, help_text="Full-text search")

    class Meta:
        model = Incident
        fields = ["status", "severity", "harm_category", "region", "channel", "commander", "q"]

    def filter_harm_category(self, queryset, name, value):
        if value.isdigit():
            return queryset.filter(harm_category_id=int(value))
        return queryset.filter(harm_category__slug=value)

    def filter_commander(self, queryset, name, value):
        if value == "none":
            return queryset.filter(commander__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(commander_id=getattr(user, "pk", None))
        if value.isdigit():
            return queryset.filter(commander_id=int(value))
        return queryset.filter(commander__username=value)

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset.exclude(pk__in=queryset.open().values("pk"))

    def filter_q(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(search_condition(value))
