"""Authenticated users only; an API key needs the `write` scope for unsafe methods."""

from __future__ import annotations

from django.conf import settings
from rest_framework import permissions

from salesops import access
from salesops.models import ApiKey


class ApiKeyScopePermission(permissions.BasePermission):
    message = "This API key lacks the 'write' scope."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if isinstance(request.auth, ApiKey):
            needed = "read" if request.method in permissions.SAFE_METHODS else "write"
            if not request.auth.has_scope(needed):
                self.message = f"This API key lacks the '{needed}' scope."
                return False
        return True


class IsAdminRoleOrReadOnly(permissions.BasePermission):
    """Data only administrators change (the product catalogue): everyone reads."""

    message = "Only an administrator can change this."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.is_admin_role


class ConfiguresSalesProcessOrReadOnly(permissions.BasePermission):
    """The sales process (pipelines, stages, milestones, qualification frameworks):
    everyone reads, administrators and sales leaders write (access.configures_sales_process)."""

    message = "Only an administrator or a sales leader can change this."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or access.configures_sales_process(
            request.user
        )


class SchemaPermission(ApiKeyScopePermission):
    """The OpenAPI schema and its docs: like any API read (a signed-in user, or a key with
    the `read` scope) unless settings.API_SCHEMA_PUBLIC opens them to everyone (read at
    each request, not when the views are defined)."""

    def has_permission(self, request, view) -> bool:
        return settings.API_SCHEMA_PUBLIC or super().has_permission(request, view)
