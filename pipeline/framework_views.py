"""The qualification framework setup pages (administrators and sales leaders): the
frameworks with where they are used and a new one, and each framework's page — its own
fields, and its elements in order, each edited in place (name, weight, order, guidance),
added, and removed after a confirmation.

Thin like every view: read through a selector, validate with a form, call ONE service
(pipeline.services.framework_* / element_*), then redirect — or render the page again
with the service's refusal at the field it names and what was typed kept (400); a
removal the service refuses (an element scored or required by a milestone) comes back
on the element's card (409). Plain forms, no JavaScript needed. Everyone else gets the
setup pages' 403 page, as the API answers them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from pipeline import selectors, services
from pipeline.framework_forms import ElementForm, FrameworkForm
from pipeline.models import QualificationFramework
from pipeline.setup_views import configurers_only
from salesops.exceptions import ApplicationError, NotFound
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

INVALID = 400  # a form with field errors, what was typed kept
REFUSED = 409  # a removal the service refuses (the element is in use)
NEW_ELEMENT = "new"


def _element_prefix(element_id: int) -> str:
    return f"element-{element_id}"


def _detail_url(framework_id: int, anchor: str = "") -> str:
    url = reverse("pipeline:framework_setup_edit", kwargs={"pk": framework_id})
    return f"{url}#{anchor}" if anchor else url


def _not_found(exc: NotFound) -> Http404:
    return Http404(exc.message)


# --- the list and a new framework ----------------------------------------------------------


@configurers_only
@require_http_methods(["GET", "POST"])
def framework_setup_list(request: AuthenticatedRequest) -> HttpResponse:
    """The frameworks (active, elements, the pipelines and stages using them) and "New
    framework": POST creates one (framework_create) and opens its page; a refusal comes
    back at its field with what was typed (400)."""
    form = FrameworkForm(request.POST or None, editing=False)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                framework = services.framework_create(actor=request.user, **form.service_fields())
            except ApplicationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Framework “{framework.name}” created. Add its elements below."
                )
                return redirect(_detail_url(framework.pk))
        status = INVALID
    return render(
        request,
        "pipeline/setup/framework_list.html",
        {"frameworks": selectors.framework_setup_list(), "form": form},
        status=status,
    )


# --- one framework -------------------------------------------------------------------------


def _render_detail(
    request: AuthenticatedRequest,
    framework: QualificationFramework,
    *,
    framework_form: FrameworkForm | None = None,
    element_form: ElementForm | None = None,
    element_id: int | None = None,
    new_element_form: ElementForm | None = None,
    element_error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The framework's page: `framework` from selectors.framework_setup_get; a bound form
    (with its errors) in place of the one of the framework, of element `element_id`, or of
    the new element; `element_error` on element `element_id`'s card."""
    for element in framework.setup_elements:  # type: ignore[attr-defined]  # set by selectors.framework_setup_get
        if element.pk == element_id and element_form is not None:
            element.form = element_form
        else:
            element.form = ElementForm(
                initial=ElementForm.initial_for(element), prefix=_element_prefix(element.pk)
            )
        element.setup_error = element_error if element.pk == element_id else ""
    context = {
        "framework": framework,
        "framework_form": framework_form
        or FrameworkForm(initial=FrameworkForm.initial_for(framework)),
        "new_element_form": new_element_form or ElementForm(prefix=NEW_ELEMENT, new=True),
        "new_element_open": new_element_form is not None,
    }
    return render(request, "pipeline/setup/framework_detail.html", context, status=status)


@configurers_only
@require_http_methods(["GET", "POST"])
def framework_setup_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The framework's page. POST saves its name, description and whether it is active
    (framework_update): back to the page, or the page again with the refusal at its
    field (400)."""
    framework = selectors.framework_setup_get(pk)
    if request.method == "GET":
        return _render_detail(request, framework)
    form = FrameworkForm(request.POST)
    if form.is_valid():
        try:
            services.framework_update(
                framework_id=framework.pk, actor=request.user, **form.service_fields()
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Framework “{form.cleaned_data['name']}” saved.")
            return redirect(_detail_url(framework.pk))
    return _render_detail(request, framework, framework_form=form, status=INVALID)


# --- its elements ----------------------------------------------------------------------------


@configurers_only
@require_POST
def element_setup_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Add an element (element_create; without an order it goes last). A refusal comes
    back in the "Add an element" form with what was typed (400)."""
    framework = selectors.framework_setup_get(pk)
    form = ElementForm(request.POST, prefix=NEW_ELEMENT, new=True)
    if form.is_valid():
        try:
            element = services.element_create(
                actor=request.user, framework=framework, **form.service_fields()
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Element “{element.name}” added.")
            return redirect(_detail_url(framework.pk, f"element-{element.pk}"))
    return _render_detail(request, framework, new_element_form=form, status=INVALID)


@configurers_only
@require_POST
def element_setup_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Save an element's name, weight, order and guidance (element_update), edited in its
    place on the framework's page. A refusal comes back in that place with what was typed
    (400)."""
    element = selectors.element_setup_get(pk)
    form = ElementForm(request.POST, prefix=_element_prefix(element.pk))
    if form.is_valid():
        try:
            services.element_update(
                element_id=element.pk, actor=request.user, **form.service_fields()
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Element “{form.cleaned_data['name']}” saved.")
            return redirect(_detail_url(element.framework_id, f"element-{element.pk}"))
    framework = selectors.framework_setup_get(element.framework_id)
    return _render_detail(
        request, framework, element_form=form, element_id=element.pk, status=INVALID
    )


@configurers_only
@require_http_methods(["GET", "POST"])
def element_setup_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page. POST: remove the element (element_delete); refused on
    the element's card while qualifications scored it or a milestone requires a level of
    it (409)."""
    element = selectors.element_setup_get(pk)
    if request.method == "GET":
        context: dict[str, Any] = {"element": element, "framework": element.framework}
        return render(request, "pipeline/setup/element_confirm_delete.html", context)
    try:
        services.element_delete(element_id=element.pk, actor=request.user)
    except NotFound as exc:
        raise _not_found(exc) from exc
    except ApplicationError as exc:
        framework = selectors.framework_setup_get(element.framework_id)
        return _render_detail(
            request, framework, element_id=element.pk, element_error=exc.message, status=REFUSED
        )
    messages.success(request, f"Element “{element.name}” removed.")
    return redirect(_detail_url(element.framework_id, "elements"))
