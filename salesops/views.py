"""Account pages: sign-in, the API keys and the notifications of the signed-in user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesops.exceptions import ApplicationError, NotFound
from salesops.forms import ApiKeyCreateForm, LoginForm, add_service_errors
from salesops.selectors import api_key_list_for, notification_list_for
from salesops.services import (
    api_key_create,
    api_key_revoke,
    notification_mark_read,
    notifications_mark_all_read,
)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def _own_keys(request: HttpRequest):
    return api_key_list_for(request.user)


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST or None)
    created = raw_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, raw_key = api_key_create(user=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                form = ApiKeyCreateForm()
        if form.errors:
            status = 422
    response = render(
        request,
        "salesops/api_keys.html",
        {
            "form": form,
            "keys": _own_keys(request),
            "created": created,
            "raw_key": raw_key,
        },
        status=status,
    )
    # The raw key is in this response only: keep it out of every cache and history.
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        key = api_key_revoke(key_id=pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(
        request, f"API key “{key.name}” revoked. Calls with it are refused from now on."
    )
    return redirect("api_keys")


# --- notifications -----------------------------------------------------------------------

NOTIFICATIONS_PAGE_SIZE = 30


def _safe_link(request: HttpRequest, link: str) -> str:
    """A notification's link, if it stays on this site (never javascript: or elsewhere)."""
    ok = link and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return link if ok else ""


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(notification_list_for(request.user), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for notification in page.object_list:
        notification.safe_link = _safe_link(request, notification.link)
    return render(request, "salesops/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(notification_id=pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.htmx:
        return redirect("notifications")
    notification.safe_link = _safe_link(request, notification.link)
    # The row, read now, and the bell's count (out of band).
    return render(request, "partials/notification.html", {"n": notification, "oob": True})


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(actor=request.user)
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} as read."
        if count
        else "Nothing unread.",
    )
    return redirect("notifications")
