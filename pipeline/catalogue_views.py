"""The account and product pages: the customers and the catalogue, with their CSV exports.

Thin, like the views of pipeline/views/: read through a selector, validate with a form, call one
service, redirect or re-render with the service's refusal at the field (422). Everyone
signed in sees accounts and adds them; a rep edits an account only while no one else's
deal uses it (services.accounts_locked_for; managers, leaders and admins edit any);
everyone sees the products, only administrators change them (others get a 403, as the
service would answer).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipeline import exports, selectors, services
from pipeline.forms import AccountForm, CatalogueFilterForm, ProductForm
from pipeline.models import Product
from salesops.exceptions import ApplicationError, NotFound, ValidationFailed
from salesops.exports import csv_link_query
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

PAGE_SIZE = 50
INVALID = 422  # a re-rendered form with errors (base.html lets htmx swap it)


def _render_form(
    request: AuthenticatedRequest, template: str, context: dict[str, Any], form, status: int | None
) -> HttpResponse:
    """The form page; `status`: a service's refusal (else 422 when the form has errors)."""
    if status is None:
        status = INVALID if form.is_bound and form.errors else 200
    return render(request, template, {**context, "form": form}, status=status)


def _refused(form, exc: ApplicationError) -> int:
    """Put a service's refusal on the form; the status to answer with."""
    add_service_errors(form, exc)
    return INVALID if isinstance(exc, ValidationFailed) else exc.status


# --- accounts -----------------------------------------------------------------------------


@login_required
@require_GET
def account_list(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    """Every account, searchable by name; `?format=csv` with the same search downloads all
    of them in the import's columns."""
    form = CatalogueFilterForm(request.GET or None, with_active=False)
    accounts = selectors.account_list(form.selector_filters().get("search", ""))
    if request.GET.get("format") == "csv":
        return exports.account_export(accounts)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pipeline/account_list.html",
        {
            "form": form,
            "page": page,
            "csv_query": csv_link_query(request.GET),
            # No Edit button where the service would refuse the save.
            "locked": services.accounts_locked_for(request.user, [a.pk for a in page.object_list]),
            "shared_message": services.ACCOUNT_SHARED,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: AuthenticatedRequest) -> HttpResponse:
    form = AccountForm(request.POST or None)
    status: int | None = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            account = services.account_create(actor=request.user, name=data.pop("name"), **data)
        except ApplicationError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"Account “{account.name}” added.")
            return redirect("pipeline:account_list")
    return _render_form(request, "pipeline/account_form.html", {"account": None}, form, status)


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(pk)
    locked = not services.can_edit_account(request.user, account.pk)
    form = AccountForm(
        request.POST or None,
        initial={f: getattr(account, f) for f in AccountForm.base_fields},
    )
    if locked and not form.is_bound:
        # Shown, not editable: the reason is on the page before anything is typed. (A
        # posted form stays as typed; the service's refusal is shown on it.)
        for field in form.fields.values():
            field.disabled = True
    status: int | None = None
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_update(
                account_id=account.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"Account “{account.name}” saved.")
            return redirect("pipeline:account_list")
    context = {"account": account, "locked": locked, "shared_message": services.ACCOUNT_SHARED}
    return _render_form(request, "pipeline/account_form.html", context, form, status)


# --- products -----------------------------------------------------------------------------


@login_required
@require_GET
def product_list(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    """The catalogue with how many deals each product is on; `?format=csv` with the same
    filters downloads it in the import's columns."""
    form = CatalogueFilterForm(request.GET or None, with_active=True)
    products = selectors.product_list(**form.selector_filters())
    if request.GET.get("format") == "csv":
        return exports.product_export(products)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.product_deal_counts([p.pk for p in page.object_list])
    for product in page.object_list:
        product.deal_count = counts.get(product.pk, 0)  # type: ignore[attr-defined]  # for the template only
    return render(
        request,
        "pipeline/product_list.html",
        {
            "form": form,
            "page": page,
            "csv_query": csv_link_query(request.GET),
            "can_manage": services.can_manage_products(request.user),
        },
    )


def _refuse_unless_admin(request: AuthenticatedRequest) -> None:
    if not services.can_manage_products(request.user):
        raise Forbidden("Only an administrator can change the products.")


def _product_initial(product: Product) -> dict[str, Any]:
    return {f: getattr(product, f) for f in ProductForm.base_fields}


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: AuthenticatedRequest) -> HttpResponse:
    _refuse_unless_admin(request)
    form = ProductForm(request.POST or None)
    status: int | None = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            product = services.product_create(actor=request.user, name=data.pop("name"), **data)
        except ApplicationError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"Product “{product.name}” added.")
            return redirect("pipeline:product_list")
    return _render_form(request, "pipeline/product_form.html", {"product": None}, form, status)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _refuse_unless_admin(request)
    product = selectors.product_get(pk)
    form = ProductForm(request.POST or None, initial=_product_initial(product))
    status: int | None = None
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_update(
                product_id=product.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"Product “{product.name}” saved.")
            return redirect("pipeline:product_list")
    deal_count = selectors.product_deal_counts([product.pk]).get(product.pk, 0)
    context = {"product": product, "deal_count": deal_count}
    return _render_form(request, "pipeline/product_form.html", context, form, status)


@login_required
@require_POST
def product_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Delete a product no deal uses; otherwise say to deactivate it (back to its page)."""
    _refuse_unless_admin(request)
    product = selectors.product_get(pk)
    try:
        services.product_delete(product_id=product.pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("pipeline:product_edit", pk=product.pk)
    messages.success(request, f"Product “{product.name}” deleted.")
    return redirect("pipeline:product_list")
