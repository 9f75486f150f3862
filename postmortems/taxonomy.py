"""The contributing-factor taxonomy and the post-mortem sections, shared by models, forms and exports."""

from django.db import models


class FactorCategory(models.TextChoices):
    DETECTION = "detection", "Detection"
    POLICY_GAP = "policy_gap", "Policy gap"
    ENFORCEMENT_TOOLING = "enforcement_tooling", "Enforcement tooling"
    PRODUCT_DESIGN = "product_design", "Product design"
    PROCESS_HANDOFF = "process_handoff", "Process / handoff"
    COMMUNICATION = "communication", "Communication"
    VENDOR_PARTNER = "vendor_partner", "Vendor / partner"
    OTHER = "other", "Other"


class Section(models.TextChoices):
    SUMMARY = "summary", "Summary"
    IMPACT = "impact", "Impact"
    DETECTION = "detection", "Detection"
    RESPONSE = "response", "Response"
    TIMELINE = "timeline", "Timeline"
    FACTORS = "factors", "Contributing factors"
    WENT_WELL = "went_well", "What went well"
    WENT_POORLY = "went_poorly", "What went poorly"
    LESSONS = "lessons", "Lessons"
    ACTION_ITEMS = "action_items", "Action items"


# The free-text sections a writer edits (the others are structured rows).
TEXT_SECTIONS: tuple[str, ...] = ("summary", "impact", "detection", "response", "went_well", "went_poorly", "lessons")

BLAMELESS_GUIDANCE = (
    "Write about systems and decisions, not people: describe what each person knew at the time and why the "
    "action made sense then. Prefer “the alert did not fire” to “X missed the alert”. Name roles, not "
    "individuals, and end each problem with what would make it less likely next time."
)
