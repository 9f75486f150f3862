from django.contrib import admin
from django.forms.models import model_to_dict

from core.audit import audit_record
from postmortems.models import PostMortemPolicy


@admin.register(PostMortemPolicy)
class PostMortemPolicyAdmin(admin.ModelAdmin):
    """The post-mortem rule is data an admin edits; post-mortems themselves change only
    through their workflow, so they are not registered here."""

    list_display = ["name", "max_severity", "due_days", "forbid_self_approval", "reminder_days_before", "overdue_repeat_days"]

    def save_model(self, request, obj, form, change):
        before = model_to_dict(PostMortemPolicy.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="postmortem_policy.change" if change else "postmortem_policy.create",
            obj=obj,
            before=before,
            after=model_to_dict(obj),
        )
