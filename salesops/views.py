"""Account pages: sign-in, the API keys and the notifications of the signed-in user; the
setup hub and the first-run page of an empty install."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesops import access, organisation, setup_links
from salesops.auth import demo_logins
from salesops.exceptions import ApplicationError, Conflict, NotFound
from salesops.forms import (
    ApiKeyCreateForm,
    FirstAdminForm,
    LoginForm,
    OrganisationForm,
    add_service_errors,
)
from salesops.http import AuthenticatedRequest
from salesops.selectors import (
    api_key_list_for,
    notification_list_for,
    organisation_saved,
    users_exist,
)
from salesops.services import (
    api_key_create,
    api_key_revoke,
    first_admin_create,
    notification_mark_read,
    notifications_mark_all_read,
    organisation_update,
    user_sign_out_everywhere,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from salesops.models import ApiKey


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # An empty install has nobody to sign in: its first page creates the administrator.
        if not users_exist():
            return redirect("setup_first_admin")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # On a laptop with the demo: its people, one click each (DEBUG only).
        return {**super().get_context_data(**kwargs), "demo_logins": demo_logins()}

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]  # authentication_form: always a LoginForm
        response = super().form_invalid(form)
        if form.retry_after is not None:  # locked (salesops.login_throttle): say for how long
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


@login_required
@require_POST
def sign_out_everywhere(request: AuthenticatedRequest) -> HttpResponse:
    """End all the user's sessions — other browsers and devices at their next request, this
    one now — e.g. after signing in on a shared computer."""
    user_sign_out_everywhere(user=request.user)
    logout(request)
    # After logout: the message travels in the messages cookie, not the ended session.
    messages.success(
        request, "Signed out everywhere: every browser signed in as you has to sign in again."
    )
    return redirect("login")


def _own_keys(request: AuthenticatedRequest) -> QuerySet[ApiKey]:
    return api_key_list_for(request.user)


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: AuthenticatedRequest) -> HttpResponse:
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
def api_key_revoke_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
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
def notifications(request: AuthenticatedRequest) -> HttpResponse:
    page = Paginator(notification_list_for(request.user), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for notification in page.object_list:
        notification.safe_link = _safe_link(request, notification.link)  # type: ignore[attr-defined]  # for the template only
    return render(request, "salesops/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(notification_id=pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.htmx:
        return redirect("notifications")
    notification.safe_link = _safe_link(request, notification.link)  # type: ignore[attr-defined]  # for the template only
    # The row, read now, and the bell's count (out of band).
    return render(request, "partials/notification.html", {"n": notification, "oob": True})


@login_required
@require_POST
def notifications_read_all(request: AuthenticatedRequest) -> HttpResponse:
    count = notifications_mark_all_read(actor=request.user)
    messages.success(
        request,
        f"Marked {count} notification{'s' if count != 1 else ''} as read."
        if count
        else "Nothing unread.",
    )
    return redirect("notifications")


# --- setup: the hub with the organisation's settings, and the first administrator -------

CALENDAR_FIELDS = ("fiscal_year_start_month", "time_zone")


@login_required
@require_http_methods(["GET", "POST"])
def setup_hub(request: AuthenticatedRequest) -> HttpResponse:
    """The setup page of those who configure the sales process (administrators and sales
    leaders): the way to the other setup pages, and the organisation's settings — a form
    for an administrator, read-only for a leader (a leader's POST: 403). Anyone else: a
    403 page saying who may (as the other setup pages and the services answer)."""
    if not access.configures_sales_process(request.user):
        return render(request, "salesops/setup_forbidden.html", status=403)
    edits_organisation = request.user.is_admin_role
    if request.method == "POST" and not edits_organisation:
        return render(request, "salesops/setup_forbidden.html", status=403)
    before = organisation.current()
    form = OrganisationForm(request.POST or None, initial=asdict(before))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                after = organisation_update(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                note = (
                    " Figures of past periods now follow the new fiscal year start and time zone."
                    if any(getattr(before, f) != getattr(after, f) for f in CALENDAR_FIELDS)
                    else ""
                )
                messages.success(request, f"Organisation settings saved.{note}")
                return redirect("setup")
        status = 422
    return render(
        request,
        "salesops/setup.html",
        {
            "form": form,
            "edits_organisation": edits_organisation,
            "organisation": before,
            "saved": organisation_saved(),
            "more_links": setup_links.links_for(request.user),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def first_admin(request: HttpRequest) -> HttpResponse:
    """First run of an empty install: create the first administrator and sign them in.
    Once anyone has an account the page does not exist (404)."""
    if users_exist():
        raise Http404("This installation has users already.")
    form = FirstAdminForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = first_admin_create(
                    username=data["username"], email=data["email"], password=data["password"]
                )
            except Conflict as exc:  # someone was quicker
                raise Http404(exc.message) from exc
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                login(request, user)
                messages.success(
                    request,
                    f"Welcome, {user.username}: you are the administrator. Start with the "
                    "company's settings below.",
                )
                return redirect("setup")
        status = 422
    response = render(request, "salesops/first_admin.html", {"form": form}, status=status)
    add_never_cache_headers(response)
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for whatever the page says: the logo (an SVG)."""
    path = finders.find("favicon.svg")
    assert path is not None  # static/favicon.svg ships with the project
    response = HttpResponse(Path(path).read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
