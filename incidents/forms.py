"""HTML forms for the triage queue, the incident page and intake. They check shape and
required fields; the services own the rules and their messages land on the same fields."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from accounts.models import Compartment, Region
from accounts.selectors import user_cleared_compartment_ids
from core.errors import ApplicationError
from incidents.models import Channel, CommentVisibility, Severity
from incidents.selectors import harm_category_list
from incidents.services import CHANNEL_REQUIRED

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
FLAG_FIELDS = ("minors_involved", "imminent_risk", "media_interest", "regulatory")


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def local_datetime_field(label: str, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False, label=label, widget=DateTimeLocal(), input_formats=DATETIME_FORMATS, help_text="In your time zone", **kwargs
    )


def add_service_errors(form: forms.Form, error: ApplicationError) -> None:
    """Put a service's field errors next to the matching fields, the rest on top."""
    placed = False
    for field, messages in (error.errors or {}).items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class SeverityChoiceField(forms.TypedChoiceField):
    def __init__(self, *, blank: str | None = None, **kwargs: Any) -> None:
        choices = list(Severity.choices)
        if blank is not None:
            choices = [("", blank), *choices]
        super().__init__(choices=choices, coerce=int, empty_value=None, **kwargs)


class IntakeForm(forms.Form):
    channel = forms.ChoiceField(choices=[("", "Choose the channel…"), *Channel.choices])
    title = forms.CharField(max_length=300)
    summary = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))
    harm_category = forms.ModelChoiceField(queryset=harm_category_list(), to_field_name="slug", empty_label="Choose…")
    region = forms.ChoiceField(choices=Region.choices, initial=Region.GLOBAL)
    countries = forms.CharField(required=False, max_length=800, help_text="ISO codes, e.g. DE FR")
    languages = forms.CharField(required=False, max_length=400, help_text="Language codes, e.g. de pt-BR")
    hashtags = forms.CharField(required=False, max_length=2000, help_text="Space or comma separated")
    content_items = forms.CharField(
        required=False, max_length=20_000, label="Content URLs or IDs", widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line"
    )
    reach_views = forms.IntegerField(required=False, min_value=0, max_value=2**62, label="Views so far")
    minors_involved = forms.BooleanField(required=False)
    imminent_risk = forms.BooleanField(required=False, label="Imminent risk to life or safety")
    media_interest = forms.BooleanField(required=False)
    regulatory = forms.BooleanField(required=False, label="Regulatory exposure")
    severity = SeverityChoiceField(required=False, blank="Use the matrix proposal")
    compartment = forms.ModelChoiceField(queryset=Compartment.objects.none(), required=False, to_field_name="slug", empty_label="None")
    authority = forms.CharField(required=False, max_length=2000)
    legal_instrument = forms.CharField(required=False, max_length=2000)
    order_reference = forms.CharField(required=False, max_length=2000)
    received_at = local_datetime_field("Received at")
    outlet = forms.CharField(required=False, max_length=2000)
    reporter = forms.CharField(required=False, max_length=2000)
    reporter_deadline = local_datetime_field("Reporter's deadline")
    partner = forms.CharField(required=False, max_length=2000)
    agency = forms.CharField(required=False, max_length=2000)
    case_reference = forms.CharField(required=False, max_length=2000)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    CHANNEL_FIELDS = {
        Channel.REGULATOR_ORDER: ("authority", "legal_instrument", "order_reference", "received_at"),
        Channel.MEDIA_INQUIRY: ("outlet", "reporter", "reporter_deadline"),
        Channel.TRUSTED_FLAGGER: ("partner", "case_reference"),
        Channel.LAW_ENFORCEMENT: ("agency", "case_reference"),
    }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["compartment"].queryset = Compartment.objects.filter(pk__in=user_cleared_compartment_ids(user=user)).order_by("name")
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        for name, message in {k: v for fields in CHANNEL_REQUIRED.values() for k, v in fields.items()}.items():
            zone = " In your time zone." if isinstance(self.fields[name], forms.DateTimeField) else ""
            self.fields[name].help_text = message + zone

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in CHANNEL_REQUIRED.get(data.get("channel") or "", {}):
            if data.get(field) in (None, "") and field not in self.errors:
                self.add_error(field, CHANNEL_REQUIRED[data["channel"]][field])
        return data

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("idempotency_key", None)
        channel = data.get("channel")
        kept = set(self.CHANNEL_FIELDS.get(channel, ()))
        for fields in self.CHANNEL_FIELDS.values():
            for name in fields:
                if name not in kept:
                    data.pop(name, None)
        data["harm_category"] = data["harm_category"].slug if data.get("harm_category") else None
        data["compartment"] = data["compartment"].slug if data.get("compartment") else None
        data["reach_views"] = data.get("reach_views") or 0
        return {k: v for k, v in data.items() if v not in (None, "")} | {k: bool(data.get(k)) for k in FLAG_FIELDS}


class EditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    title = forms.CharField(max_length=300)
    summary = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))
    harm_category = forms.ModelChoiceField(queryset=harm_category_list(), to_field_name="slug")
    region = forms.ChoiceField(choices=Region.choices)
    hashtags = forms.CharField(required=False, max_length=2000, help_text="Space or comma separated")
    minors_involved = forms.BooleanField(required=False)
    imminent_risk = forms.BooleanField(required=False, label="Imminent risk to life or safety")
    media_interest = forms.BooleanField(required=False)
    regulatory = forms.BooleanField(required=False, label="Regulatory exposure")

    @classmethod
    def for_incident(cls, incident: Any) -> EditForm:
        return cls(
            prefix="edit",
            initial={
                "version": incident.version,
                "title": incident.title,
                "summary": incident.summary,
                "harm_category": incident.harm_category.slug,
                "region": incident.region,
                "hashtags": " ".join(f"#{t}" for t in incident.hashtags),
                **{f: getattr(incident, f) for f in FLAG_FIELDS},
            },
        )

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version")
        data["harm_category"] = data["harm_category"].slug
        return data


class TransitionForm(forms.Form):
    to = forms.CharField(max_length=20)
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    resolution_summary = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class SeverityForm(forms.Form):
    severity = SeverityChoiceField()
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=50_000, widget=forms.Textarea(attrs={"rows": 4}), label="Comment", help_text="Markdown; @name mentions"
    )
    visibility = forms.ChoiceField(choices=CommentVisibility.choices, initial=CommentVisibility.INTERNAL, widget=forms.RadioSelect)
    original_language = forms.CharField(required=False, max_length=16, label="Language", help_text="e.g. de")
    translation = forms.CharField(required=False, max_length=50_000, widget=forms.Textarea(attrs={"rows": 2}))
    translation_language = forms.CharField(required=False, max_length=16, label="Translation language", help_text="e.g. en")


class KeyMomentForm(forms.Form):
    summary = forms.CharField(max_length=1000, label="Key moment")
    at = local_datetime_field("When")


class GrantForm(forms.Form):
    user = forms.CharField(max_length=150, label="Username")
    reason = forms.CharField(required=False, max_length=2000)


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80, label="Save this view as")
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
