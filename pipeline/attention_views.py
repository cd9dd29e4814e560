"""The "Needs attention" page: one card per flagged deal, its flags as chips, in the order
of what to do first (selectors.ATTENTION_SORTS), with the quick actions that clear flags
where they are shown — log an activity, set the next step, re-qualify (a link to the
qualify page).

The actions call the services the opportunity page calls (`activity_log`,
`opportunity_update`). With htmx they re-render the deal's card (a refusal: 422, what was
typed kept); without JavaScript they redirect back to the list with its filters, or
re-render the list with the refusal in the deal's card.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from pipeline import selectors, services
from pipeline.forms import ActivityForm, AttentionFilterForm, NextStepForm
from pipeline.models import ActivityKind, FlagKind, Opportunity
from salesops.exceptions import ApplicationError, NotFound, StaleVersion
from salesops.forms import add_service_errors
from salesops.http import AuthenticatedRequest

ATTENTION_PAGE_SIZE = 50
# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422
# What of the list's query string an action carries back to it.
BACK_KEYS = ("kind", "severity", "owner", "sort", "group", "page")


def _back_query(query: QueryDict) -> QueryDict:
    back = QueryDict(mutable=True)
    for key in BACK_KEYS:
        value = query.get(key)  # query[key]: the same last value
        if value:
            back[key] = value[:100]
    return back


def _list_url(back: QueryDict) -> str:
    query = back.urlencode()
    return reverse("pipeline:attention") + (f"?{query}" if query else "")


def _prepare(deal: Opportunity) -> Opportunity:
    """Its open flags as chips (AttentionFlag), most severe first; whether one of them
    asks for a re-qualification (the card's Re-qualify button stands out)."""
    # flag_items: annotated by the attention selectors; flags_shown and requalify_due: for
    # the template only.
    deal.flags_shown = selectors.attention_flags(deal.flag_items)  # type: ignore[attr-defined]
    deal.requalify_due = any(f.kind == FlagKind.REQUALIFY_DUE for f in deal.flags_shown)  # type: ignore[attr-defined]
    return deal


def _list_context(request: AuthenticatedRequest, query: QueryDict, *, refused: Any = None) -> dict:
    """The page for `query` (the list's GET parameters). `refused`: a deal whose action
    was refused, shown with its forms in place of its card (first, if not on the page)."""
    user = request.user
    sees_others = not user.is_rep
    form = AttentionFilterForm(
        query or None, owners=selectors.assignable_owners_for(user), show_owner=sees_others
    )
    filters, sort, group = form.selector_args()
    group = group and sees_others
    deals = selectors.attention_deals_for(user, filters, sort, group_by_owner=group)
    page = Paginator(deals, ATTENTION_PAGE_SIZE).get_page(query.get("page"))
    rows = [_prepare(deal) for deal in page.object_list]
    if refused is not None:
        at = next((i for i, deal in enumerate(rows) if deal.pk == refused.pk), None)
        if at is None:
            rows.insert(0, refused)
        else:
            rows[at] = refused
    owners = selectors.attention_owners_for(user, filters)
    by_owner = {owner.owner_id: owner for owner in owners}
    for deal in rows:
        deal.owner_summary = by_owner.get(deal.owner_id)  # type: ignore[attr-defined]  # for the template only
    page.object_list = rows
    return {
        "form": form,
        "page": page,
        "owners": owners if sees_others else [],
        "owner_filter": filters.get("owner"),
        "total_deals": sum(o.deals for o in owners),
        "shown_flags": sum(
            o.flags for o in owners if o.owner_id == filters.get("owner", o.owner_id)
        ),
        "show_owner": sees_others,
        "grouped": group,
        "filtered": bool(filters),
        "back": _back_query(query).urlencode(),
        "activity_kinds": ActivityKind.choices,
    }


@login_required
@require_GET
def attention(request: AuthenticatedRequest) -> HttpResponse:
    """The open deals the user may see that have open flags (a rep: their own; a manager:
    their teams'; a leader: all), one card per deal. Filter by kind, severity and rep,
    sort, group by rep; act on a deal in place."""
    return render(request, "pipeline/attention.html", _list_context(request, request.GET))


# --- quick actions ----------------------------------------------------------------------------


def _card(
    request: AuthenticatedRequest,
    deal: Opportunity,
    back: QueryDict,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        "partials/attention_deal.html",
        {
            "opp": _prepare(deal),
            "show_owner": not request.user.is_rep,
            "back": back.urlencode(),
            "activity_kinds": ActivityKind.choices,
            **extra,
        },
        status=status,
    )


def _done(
    request: AuthenticatedRequest, before: Opportunity, back: QueryDict, text: str
) -> HttpResponse:
    """After an action: the card again (htmx), saying which flags the action cleared, or
    back to the list where the deal was."""
    after = selectors.attention_deal_for(request.user, before.pk)
    # flag_items: annotated by selectors.attention_deal_for.
    open_now = {flag.kind for flag in selectors.attention_flags(after.flag_items)}  # type: ignore[attr-defined]
    cleared = [
        f.label
        for f in selectors.attention_flags(before.flag_items)  # type: ignore[attr-defined]
        if f.kind not in open_now
    ]
    if cleared:
        text += f" Cleared: {', '.join(cleared)}."
    if request.htmx:
        return _card(request, after, back, done=text)
    messages.success(request, f"{after.name}: {text}")
    return redirect(f"{_list_url(back)}#deal-{after.pk}")


def _refused(
    request: AuthenticatedRequest, deal: Opportunity, back: QueryDict, **forms
) -> HttpResponse:
    """The refusal in the deal's card, what was typed kept (422)."""
    for name, form in forms.items():
        setattr(deal, name, form)
    if request.htmx:
        return _card(request, deal, back, status=INVALID)
    context = _list_context(request, back, refused=_prepare(deal))
    context["page_url"] = _list_url(back)  # base.html: the address bar shows the list's
    return render(request, "pipeline/attention.html", context, status=INVALID)


@login_required
@require_POST
def attention_activity(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Log a call, meeting, email or note on the deal (services.activity_log): a customer
    contact clears "No customer activity" at once."""
    deal = selectors.attention_deal_for(request.user, pk)
    back = _back_query(QueryDict(request.POST.get("back", "")))
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            services.activity_log(opportunity_id=deal.pk, actor=request.user, **form.cleaned_data)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            kind = ActivityKind(form.cleaned_data["kind"]).label
            return _done(request, deal, back, f"{kind} logged.")
    return _refused(request, deal, back, activity_form=form)


@login_required
@require_POST
def attention_next_step(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Set the deal's next step and its date (services.opportunity_update, with the
    version the page showed): a date ahead clears "Next step overdue" at once."""
    deal = selectors.attention_deal_for(request.user, pk)
    back = _back_query(QueryDict(request.POST.get("back", "")))
    form = NextStepForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.opportunity_update(
                opportunity_id=deal.pk,
                actor=request.user,
                expected_version=data["version"],
                next_step=data["next_step"],
                next_step_date=data["next_step_date"],
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except StaleVersion:
            # Keep what the user typed; show what is stored now; the next save is deliberate.
            deal = selectors.attention_deal_for(request.user, pk)
            fresh = request.POST.copy()
            fresh["version"] = str(deal.version)
            form = NextStepForm(fresh)
            form.is_valid()
            form.add_error(
                None,
                "Someone changed this deal while you were typing (its next step is now "
                f"“{deal.next_step or 'not set'}”). Your input is kept: save again to apply it.",
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, deal, back, "Next step set.")
    return _refused(request, deal, back, next_step_form=form)
