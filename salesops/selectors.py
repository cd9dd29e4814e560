"""Reads of the shared kernel, scoped to the user."""

from __future__ import annotations

from django.db.models import QuerySet

from salesops.models import ApiKey, Notification, User


def api_key_list_for(user: User) -> QuerySet[ApiKey]:
    """A user's own API keys, newest first; nobody lists anyone else's keys."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")


def notification_list_for(user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first; nobody ever lists anyone else's."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_notification_count(user: User) -> int:
    return notification_list_for(user).filter(read_at__isnull=True).count()
