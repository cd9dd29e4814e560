"""Ticking off an action item (shared by opportunity reviews and 1:1 sessions)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coaching import selectors, services
from coaching.views.common import INVALID
from salesops.exceptions import ApplicationError, NotFound
from salesops.http import AuthenticatedRequest


@login_required
@require_POST
def action_item_done(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Mark an action item done (done=1) or open again (done=0). htmx gets the item's
    partial (templates/coaching/partials/action_item.html) back — with the refusal in it
    and status 422 when refused, so htmx swaps it in; a plain POST redirects to the review
    or 1:1 page with a message. Outside the user's scope: 404."""
    raw = request.POST.get("done", "")
    error = ""
    if raw not in ("0", "1"):
        error = "Say done=1 (done) or done=0 (open again)."
    else:
        try:
            services.action_item_set_done(actor=request.user, item_id=pk, done=raw == "1")
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            error = exc.message
    item = selectors.action_item_get_for(request.user, pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"“{item.title}” {'done' if item.is_done else 'open again'}.")
        return redirect(services.action_item_link(item))
    return render(
        request,
        "coaching/partials/action_item.html",
        {"item": item, "error": error},
        status=INVALID if error else 200,
    )
