from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings

from accounts.models import ApiToken

SCOPE_HELP = {
    "read": "read: look at incidents, schedules and reports",
    "write": "write: change things (transition, comment, acknowledge)",
    "intake": "intake: report new incidents only",
    "admin": "admin: everything, including administration (admins only)",
}


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/")))
    return [("UTC", "UTC"), *((n, n.replace("_", " ")) for n in names)]


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False, help_text="How your name appears to colleagues.")
    time_zone = forms.ChoiceField(choices=time_zone_choices, help_text="Times are shown to you in this zone.")
    languages = forms.CharField(
        max_length=200, required=False, help_text="Languages you can work in, as codes separated by commas (en, de, pt-BR)."
    )

    def clean_languages(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["languages"].split(",") if part.strip()]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. 'Alertmanager bridge'.")
    scopes = forms.MultipleChoiceField(
        choices=[(s, SCOPE_HELP[s]) for s in ApiToken.SCOPES], widget=forms.CheckboxSelectMultiple, initial=["read"]
    )
    expires_in_days = forms.IntegerField(label="Expires after (days)", min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, initial=90)


class OTPCodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="6-digit code",
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8", "size": "8"}),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()
