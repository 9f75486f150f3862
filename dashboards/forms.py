"""Dashboard filters: one form for the page, the API and the exports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.utils import timezone

from accounts.models import Region, Team
from incidents.models import Channel, HarmCategory, Severity

MAX_RANGE_DAYS = 400
DEFAULT_RANGE_DAYS = 30
DIMENSIONS = ("category", "region", "channel", "severity")


@dataclass(frozen=True)
class DashboardFilters:
    date_from: dt.date
    date_to: dt.date
    team: int | None = None
    region: str | None = None
    category: int | None = None
    category_slug: str | None = None
    channel: str | None = None
    severity: int | None = None
    by: str = "category"
    extra: dict = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> DashboardFilters:
        span = dt.timedelta(days=self.days)
        return DashboardFilters(
            date_from=self.date_from - span,
            date_to=self.date_to - span,
            team=self.team,
            region=self.region,
            category=self.category,
            category_slug=self.category_slug,
            channel=self.channel,
            severity=self.severity,
            by=self.by,
        )

    def as_query(self) -> dict[str, str]:
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for key in ("team", "region", "channel", "severity"):
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value)
        if self.category_slug:
            out["category"] = self.category_slug
        return out


class DashboardFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")
    team = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    region = forms.CharField(required=False, max_length=20)
    category = forms.CharField(required=False, max_length=60)
    channel = forms.CharField(required=False, max_length=40)
    severity = forms.IntegerField(required=False)
    by = forms.CharField(required=False, max_length=20)

    # Query-string names differ from field names for the range ("from"/"to").
    ALIASES = {"from": "date_from", "to": "date_to"}

    @classmethod
    def from_query(cls, params) -> DashboardFilterForm:
        data = {}
        for key in ("from", "to", "team", "region", "category", "channel", "severity", "by"):
            value = params.get(key)
            if value not in (None, ""):
                if "\x00" in value:
                    value = value.replace("\x00", "")
                    data["_nul_" + key] = "1"
                data[cls.ALIASES.get(key, key)] = value
        return cls(data)

    def clean_region(self):
        value = self.cleaned_data.get("region") or None
        if value is not None and value not in Region.values:
            raise forms.ValidationError(f"Unknown region “{value}”. Choose one of: {', '.join(Region.values)}.")
        return value

    def clean_channel(self):
        value = self.cleaned_data.get("channel") or None
        if value is not None and value not in Channel.values:
            raise forms.ValidationError(f"Unknown channel “{value}”.")
        return value

    def clean_severity(self):
        value = self.cleaned_data.get("severity")
        if value is not None and value not in Severity.values:
            raise forms.ValidationError("Severity must be 1, 2, 3 or 4.")
        return value

    def clean_category(self):
        value = self.cleaned_data.get("category") or None
        if value is None:
            return None
        category = HarmCategory.objects.filter(slug=value).only("pk", "slug").first()
        if category is None:
            raise forms.ValidationError(f"Unknown harm category “{value}”.")
        return category

    def clean_team(self):
        value = self.cleaned_data.get("team")
        if value is not None and not Team.objects.filter(pk=value).exists():
            raise forms.ValidationError("Unknown team.")
        return value

    def clean_by(self):
        value = self.cleaned_data.get("by") or "category"
        if value not in DIMENSIONS:
            raise forms.ValidationError(f"Group volume by one of: {', '.join(DIMENSIONS)}.")
        return value

    def clean(self):
        data = super().clean()
        for key in ("from", "to", "team", "region", "category", "channel", "severity", "by"):
            if self.data.get("_nul_" + key):
                self.add_error(self.ALIASES.get(key, key), "Contains a NUL character.")
        today = timezone.now().astimezone(dt.UTC).date()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or (date_to - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1))
        if "date_from" in self.errors or "date_to" in self.errors:
            return data
        if date_from > date_to:
            self.add_error("date_from", "The start of the range is after its end.")
        elif (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            self.add_error("date_to", f"The range may span at most {MAX_RANGE_DAYS} days.")
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def filters(self) -> DashboardFilters:
        d = self.cleaned_data
        category = d.get("category")
        return DashboardFilters(
            date_from=d["date_from"],
            date_to=d["date_to"],
            team=d.get("team"),
            region=d.get("region"),
            category=category.pk if category else None,
            category_slug=category.slug if category else None,
            channel=d.get("channel"),
            severity=d.get("severity"),
            by=d.get("by") or "category",
        )

    def api_errors(self) -> dict[str, list[str]]:
        """Errors keyed by the query-string names (from/to, not date_from/date_to)."""
        back = {v: k for k, v in self.ALIASES.items()}
        return {back.get(k, k): [str(m) for m in v] for k, v in self.errors.items()}
