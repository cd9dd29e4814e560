"""Reads of the shared kernel, scoped to the user."""

from __future__ import annotations

from django.db.models import QuerySet

from salesops.models import ApiKey, User


def api_key_list_for(user: User) -> QuerySet[ApiKey]:
    """A user's own API keys, newest first; nobody lists anyone else's keys."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")
