"""The default harm taxonomy and its mapping onto the EU DSA transparency-database
statement categories (the 16-value list in force from 1 July 2025). Admins edit both
afterwards; ensuring the defaults only adds missing rows and never overwrites edits."""

from __future__ import annotations

DSA_VERSION = "2025-07-01"

DSA_CATEGORIES_2025 = (
    "animal_welfare",
    "consumer_information_infringements",
    "cyber_violence",
    "cyber_violence_against_women",
    "data_protection_and_privacy_violations",
    "illegal_or_harmful_speech",
    "intellectual_property_infringements",
    "negative_effects_on_civic_discourse_or_elections",
    "not_specified_by_the_notifier",
    "other_violation_of_provider_terms",
    "protection_of_minors",
    "risk_for_public_security",
    "scams_and_fraud",
    "self_harm",
    "unsafe_non_compliant_or_prohibited_products",
    "violence",
)

# slug, name, DSA category, harm level (1 gravest … 4 least) for the severity matrix
TAXONOMY = [
    ("csea", "Child sexual exploitation and abuse (CSEA)", "protection_of_minors", 1),
    ("violent-extremism", "Violent extremism and terrorism", "risk_for_public_security", 1),
    ("hate-speech", "Hate speech", "illegal_or_harmful_speech", 2),
    ("harassment", "Harassment and bullying", "cyber_violence", 3),
    ("self-harm", "Suicide, self-harm and eating disorders", "self_harm", 1),
    ("dangerous-challenges", "Dangerous challenges and acts", "protection_of_minors", 2),
    ("violent-graphic", "Violent and graphic content", "violence", 3),
    ("adult-sexual", "Adult sexual content", "other_violation_of_provider_terms", 4),
    ("illegal-goods", "Illegal goods and regulated products", "unsafe_non_compliant_or_prohibited_products", 2),
    ("fraud-scams", "Fraud and scams", "scams_and_fraud", 3),
    ("civic-integrity", "Civic and election integrity", "negative_effects_on_civic_discourse_or_elections", 2),
    ("misinformation", "Misinformation", "negative_effects_on_civic_discourse_or_elections", 3),
    ("privacy-doxxing", "Privacy and doxxing", "data_protection_and_privacy_violations", 2),
    ("intellectual-property", "Intellectual property", "intellectual_property_infringements", 4),
    ("platform-manipulation", "Platform manipulation and spam", "other_violation_of_provider_terms", 4),
    ("minor-safety", "Minor safety (other)", "protection_of_minors", 2),
    ("other", "Other", "not_specified_by_the_notifier", 4),
]


def harm_categories_ensure(using: str = "default") -> int:
    """Add any default category that is missing (a flushed test database, a fresh install)."""
    from incidents.models import HarmCategory

    existing = set(HarmCategory.objects.using(using).values_list("slug", flat=True))
    missing = [
        HarmCategory(slug=slug, name=name, dsa_category=dsa, dsa_taxonomy_version=DSA_VERSION, harm_level=level, order=order * 10)
        for order, (slug, name, dsa, level) in enumerate(TAXONOMY, start=1)
        if slug not in existing
    ]
    HarmCategory.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    return len(missing)
