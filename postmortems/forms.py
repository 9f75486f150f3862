from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from postmortems.models import ActionItemPriority, ActionItemStatus
from postmortems.services import TRANSITIONS
from postmortems.taxonomy import FactorCategory, Section

SECTION_HELP = {
    "summary": "What happened, in a few sentences a newcomer can follow.",
    "impact": "Reach, duration, users, regions and languages affected, content removed.",
    "detection": "How we learnt about it and how fast.",
    "response": "What was done, by which teams, and what changed the outcome.",
    "went_well": "What helped.",
    "went_poorly": "What got in the way: systems and processes, not people.",
    "lessons": "What we take away.",
}


class SectionsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=300)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}), strip=False)
    impact = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), strip=False)
    detection = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), strip=False)
    response = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), strip=False)
    went_well = forms.CharField(label="What went well", required=False, widget=forms.Textarea(attrs={"rows": 4}), strip=False)
    went_poorly = forms.CharField(label="What went poorly", required=False, widget=forms.Textarea(attrs={"rows": 4}), strip=False)
    lessons = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), strip=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, text in SECTION_HELP.items():
            self.fields[name].help_text = text


class FactorForm(forms.Form):
    category = forms.ChoiceField(choices=[("", "Choose a category…"), *FactorCategory.choices])
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


def _owner_queryset():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=300)
    owner = forms.ModelChoiceField(queryset=_owner_queryset(), empty_label="Choose an owner…")
    due_on = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(choices=ActionItemPriority.choices, initial=ActionItemPriority.P2)
    tracker_url = forms.CharField(
        label="Tracker link", required=False, max_length=500, widget=forms.URLInput(attrs={"placeholder": "https://"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owner_queryset()


class ActionItemUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)
    tracker_url = forms.CharField(label="Tracker link", required=False, max_length=500, widget=forms.URLInput)


class CommentForm(forms.Form):
    section = forms.ChoiceField(choices=Section.choices)
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class TransitionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in TRANSITIONS])
    reason = forms.CharField(required=False, max_length=2000)


class StartForm(forms.Form):
    incident = forms.CharField(label="Incident reference or id", max_length=40)


class TimelineEntryForm(forms.Form):
    at = forms.DateTimeField(label="When", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    text = forms.CharField(label="What happened", max_length=5000)
