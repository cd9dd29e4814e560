"""The Setup page's "Remove the demo company": a confirmation, then demo_remove."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from demo.services import demo_present, demo_remove
from salesops.exceptions import ApplicationError
from salesops.http import AuthenticatedRequest


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: AuthenticatedRequest) -> HttpResponse:
    """GET: what will go and what stays; POST: remove it. Administrators only (403);
    a 404 once there is no demo."""
    if not request.user.is_admin_role:
        raise DjangoPermissionDenied("Removing the demo is for administrators.")
    if not demo_present():
        raise Http404("There is no demo company here.")
    if request.method == "POST":
        try:
            removed = demo_remove(actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return render(request, "demo/remove.html", {"error": exc.message}, status=409)
        messages.success(
            request,
            f"The demo company is gone: {removed.people} people, {removed.opportunities} "
            f"deals, {removed.accounts} accounts and {removed.forecast_calls} forecast calls.",
        )
        return redirect("setup")
    return render(request, "demo/remove.html", {})
