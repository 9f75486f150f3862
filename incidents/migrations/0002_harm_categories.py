"""The default harm taxonomy with its mapping onto the EU DSA transparency-database
statement categories as they stand from 1 July 2025. Admins edit both afterwards."""

from django.db import migrations

DSA_VERSION = "2025-07-01"

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


def seed(apps, schema_editor):
    HarmCategory = apps.get_model("incidents", "HarmCategory")
    for order, (slug, name, dsa, level) in enumerate(TAXONOMY, start=1):
        HarmCategory.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "dsa_category": dsa, "dsa_taxonomy_version": DSA_VERSION, "harm_level": level, "order": order * 10},
        )


def unseed(apps, schema_editor):
    apps.get_model("incidents", "HarmCategory").objects.filter(slug__in=[t[0] for t in TAXONOMY]).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
