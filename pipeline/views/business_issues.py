"""Business issues on the opportunity page: added in their fold-out, edited and
deleted in place."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from pipeline import selectors, services
from pipeline.forms import BusinessIssueForm
from pipeline.models import BusinessIssue, Opportunity, OpportunityStatus
from pipeline.views.common import INVALID
from pipeline.views.opportunities import fold_out_form, issues_context, render_detail
from salesops.exceptions import ApplicationError, NotFound
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest


@login_required
@require_http_methods(["GET", "POST"])
def business_issue_create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """GET: the add form (the fold-out's content; without htmx the page with it open)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    if request.method == "GET":
        form = BusinessIssueForm()
        return fold_out_form(
            request,
            opp,
            "partials/business_issue_form.html",
            {"issue_form": form},
            open_only=True,
            issue_form=form,
        )
    form = BusinessIssueForm(request.POST)
    if form.is_valid():
        try:
            services.business_issue_create(
                opportunity_id=opp.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, "Business issue added.")
                return redirect("pipeline:opportunity_detail", pk=opp.pk)
            return _issues_card(request, opp, status=200)
    if not request.htmx:
        return render_detail(request, opp, issue_form=form)
    return _issues_card(request, opp, status=INVALID, issue_form=form)


# --- business issues: edited and deleted in place ---------------------------------------


def _issue_prefix(issue_id: int) -> str:
    return f"issue-{issue_id}"  # one edit form per issue on the page: ids stay unique


def _issue_edit_form(issue: BusinessIssue) -> BusinessIssueForm:
    """One issue's edit form, prefilled with what is stored."""
    return BusinessIssueForm(
        prefix=_issue_prefix(issue.pk),
        initial={
            "issue": issue.issue,
            "impact": issue.impact,
            "our_value": issue.our_value,
            "quantified_value": issue.quantified_value,
        },
    )


def _issues_card(
    request: AuthenticatedRequest, opp: Opportunity, *, status: int, **context: Any
) -> HttpResponse:
    response = render(
        request,
        "partials/business_issues.html",
        {
            "opp": opp,
            "is_open": opp.status == OpportunityStatus.OPEN,
            **issues_context(opp, **context),
        },
        status=status,
    )
    if status == 200:
        # An automatic milestone may now be met (or no longer): the milestone panel and
        # its summary refresh on this event.
        response["HX-Trigger"] = "business-issues-changed"
    return response


def _issue_changed(request: AuthenticatedRequest, opp: Opportunity, text: str) -> HttpResponse:
    if not request.htmx:
        messages.success(request, text)
        return redirect(
            reverse("pipeline:opportunity_detail", kwargs={"pk": opp.pk}) + "#business-issues"
        )
    return _issues_card(request, opp, status=200)


def _issue_refused(request: AuthenticatedRequest, opp: Opportunity, **context: Any) -> HttpResponse:
    if not request.htmx:
        names = {"editing": "issue_editing", "error": "issues_error"}
        return render_detail(request, opp, **{names[k]: v for k, v in context.items()})
    return _issues_card(request, opp, status=INVALID, **context)


def _issue_of(request: AuthenticatedRequest, opp: Opportunity, issue_id: int) -> BusinessIssue:
    issue = selectors.business_issue_get_for(request.user, issue_id)  # outside scope: 404
    if issue.opportunity_id != opp.pk:
        raise Http404("No such business issue on this opportunity.")
    return issue


@login_required
@require_http_methods(["GET", "POST"])
def business_issue_edit(request: AuthenticatedRequest, pk: int, issue_id: int) -> HttpResponse:
    """Change one business issue in place, e.g. map our value to one recorded without it.
    GET: its edit form, prefilled (the fold-out's content)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    issue = _issue_of(request, opp, issue_id)
    if request.method == "GET":
        form = _issue_edit_form(issue)
        return fold_out_form(
            request,
            opp,
            "partials/business_issue_edit_form.html",
            {"bi": issue, "edit_form": form},
            open_only=True,
            issue_editing=(issue.pk, form),
        )
    form = BusinessIssueForm(request.POST, prefix=_issue_prefix(issue.pk))
    error = ""
    if form.is_valid():
        try:
            services.business_issue_update(
                business_issue_id=issue.pk, actor=request.user, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            if any(field in form.fields for field in exc.details):
                add_service_errors(form, exc)
            else:
                error = exc.message  # not about a field: said on top of the card
        else:
            return _issue_changed(request, opp, "Business issue updated.")
    return _issue_refused(request, opp, editing=(issue.pk, form), error=error)


@login_required
@require_POST
def business_issue_delete(request: AuthenticatedRequest, pk: int, issue_id: int) -> HttpResponse:
    """Delete one business issue (the page asks for a confirmation first)."""
    opp = selectors.opportunity_get_for(request.user, pk)
    issue = _issue_of(request, opp, issue_id)
    try:
        services.business_issue_delete(business_issue_id=issue.pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return _issue_refused(request, opp, error=exc.message)
    return _issue_changed(request, opp, "Business issue deleted.")
