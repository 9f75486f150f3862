from django.contrib import admin

from escalations.models import BusinessCalendar, Holiday, LegalClock, LegalClockVersion, SLAClock, SLAClockEvent, SLAPolicy, SLATarget


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "time_zone", "is_24x7"]
    search_fields = ["name"]
    inlines = [HolidayInline]


class LegalClockVersionInline(admin.TabularInline):
    model = LegalClockVersion
    extra = 0


@admin.register(LegalClock)
class LegalClockAdmin(admin.ModelAdmin):
    list_display = ["code", "jurisdiction", "instrument", "internal_target"]
    list_filter = ["jurisdiction", "internal_target"]
    search_fields = ["code", "instrument", "citation"]
    inlines = [LegalClockVersionInline]


class SLATargetInline(admin.StackedInline):
    model = SLATarget
    extra = 0


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    """Edits here bump the version and recompute the open clocks, as the service does."""

    list_display = ["name", "active", "priority", "version", "channels", "severities", "regions", "flags"]
    list_filter = ["active"]
    search_fields = ["name"]
    filter_horizontal = ["harm_categories"]
    readonly_fields = ["version"]
    inlines = [SLATargetInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change:
            from escalations.models import SLAPolicy as Policy
            from escalations.sla_services import sla_policy_recompute_after_edit

            Policy.objects.filter(pk=form.instance.pk).update(version=form.instance.version + 1)
            sla_policy_recompute_after_edit(actor=request.user, policy=Policy.objects.get(pk=form.instance.pk))


class SLAClockEventInline(admin.TabularInline):
    model = SLAClockEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "actor", "data"]


@admin.register(SLAClock)
class SLAClockAdmin(admin.ModelAdmin):
    """Read-only: clocks move through the services and the engine."""

    list_display = ["incident", "metric", "cycle", "state", "due_at", "stopped_at"]
    list_filter = ["state", "metric"]
    inlines = [SLAClockEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
