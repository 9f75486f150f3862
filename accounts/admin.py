from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken, Clearance, Compartment, ExternalIdentity, Team, TeamMembership, User


@admin.register(User)
class FirebreakUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Firebreak", {"fields": ("display_name", "time_zone", "languages", "region")}))
    list_display = ("username", "display_name", "email", "is_active", "time_zone")


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "function", "region", "time_zone")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Compartment)
class CompartmentAdmin(admin.ModelAdmin):
    list_display = ("slug", "name")


@admin.register(Clearance)
class ClearanceAdmin(admin.ModelAdmin):
    list_display = ("user", "compartment", "source", "expires_at", "revoked_at", "granted_by")
    list_filter = ("compartment", "source")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "issuer", "subject", "last_login_at")
    readonly_fields = ("issuer", "subject", "groups", "created_at", "last_login_at")
    search_fields = ("user__username", "subject")
