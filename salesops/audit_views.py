"""/audit/: the audit trail for administrators — who did what, when and by which path,
newest first, filtered, and its CSV export (salesops/audit.py). Everyone else: 403."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from salesops import selectors
from salesops.api.pagination import DeferredJoinPaginator
from salesops.audit import AuditEventFilter, audit_export, data_text, target_link
from salesops.exceptions import PermissionDenied
from salesops.exports import csv_link_query
from salesops.http import AuthenticatedRequest

PAGE_SIZE = 50


@login_required
@require_GET
def audit_events(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    try:
        events = selectors.audit_event_list_for(request.user)
    except PermissionDenied as exc:
        raise Forbidden(exc.message) from exc
    filters = AuditEventFilter(request.GET or None, queryset=events)
    valid = filters.is_valid() if filters.is_bound else True
    if valid and request.GET.get("format") == "csv":
        return audit_export(filters.qs)
    # A filter that does not parse shows its error and no rows, never every event.
    shown = filters.qs if valid else []
    page = DeferredJoinPaginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.link = target_link(event.target_type, event.target_id)
        event.data_text = data_text(event.data)
    return render(
        request,
        "salesops/audit.html",
        {
            "form": filters.form,
            "page": page,
            "csv_query": csv_link_query(request.GET),
        },
        status=200 if valid else 400,
    )
