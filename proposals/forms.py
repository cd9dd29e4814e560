"""Forms of the proposal pages: they validate and normalise input, never hold business rules.

Who may write, review or send, what a summary must say and when a proposal may change
live in proposals.services; a service's error is mapped back onto these forms with
`salesops.forms.add_service_errors` (or `ProposalForm.add_service_errors`, which also puts
section problems on the sections), so the user sees it next to what they typed.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.urls import reverse
from django.utils import timezone

from proposals.models import ProposalStatus
from proposals.services import MAX_COMMENT, MAX_SECTION_BODY, MAX_SECTIONS, MAX_SUMMARY, MAX_TITLE
from salesops.exceptions import ApplicationError
from salesops.forms import add_service_errors

if TYPE_CHECKING:
    from salesops.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# How long a new proposal is valid by default.
DEFAULT_VALIDITY_DAYS = 30
SUMMARY_TOO_LONG = (
    "Keep the executive summary under %(limit_value)s characters (this one has "
    "%(show_value)s): it is read in a minute; the detail belongs in the sections."
)


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # templates render {% csrf_token %} themselves
    return helper


class ProposalFilterForm(forms.Form):
    """The list's filters (GET). Only valid values reach the selector."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ProposalStatus.choices]
    )
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All owners"
    )

    def __init__(self, *args, owners, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        if not show_owner:
            del self.fields["owner"]
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def selector_filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        filters = {
            "status": data.get("status") or "",
            "owner": data["owner"].pk if data.get("owner") else None,
        }
        return {k: v for k, v in filters.items() if v}


class ProposalForm(forms.Form):
    """Title, executive summary, value, validity — the sections are `SectionFormSet`.

    The summary's textarea asks the server for its checklist while the rep types (htmx,
    debounced); the page puts the deal's id in a hidden `opportunity` input for it."""

    title = forms.CharField(max_length=MAX_TITLE)
    executive_summary = forms.CharField(
        required=False,
        max_length=MAX_SUMMARY,
        strip=False,  # the checks count what was typed; the service trims on save
        label="Executive summary",
        error_messages={"max_length": SUMMARY_TOO_LONG},
        help_text="Name the customer, restate their business issue and what solving it is "
        "worth, in their words. Checked as you type.",
    )
    total_value = forms.DecimalField(
        min_value=0, max_digits=14, decimal_places=2, label="Total value"
    )
    currency = forms.CharField(max_length=3)
    valid_until = forms.DateField(widget=DATE, label="Valid until")
    # Optimistic locking: the revision the form was opened at (edit only).
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["executive_summary"].widget = forms.Textarea(
            attrs={
                "rows": 9,
                "data-testid": "summary-input",
                "hx-post": reverse("proposals:check_summary"),
                "hx-trigger": "input changed delay:500ms",
                "hx-target": "#summary-checks",
                "hx-swap": "outerHTML",
                "hx-indicator": "#summary-checks",
                # Only what the check needs, not the whole form on every keystroke; a
                # newer keystroke replaces a request still on its way.
                "hx-params": "opportunity,executive_summary",
                "hx-sync": "this:replace",
                "aria-describedby": "summary-checks",
            }
        )
        # The browser must not refuse a long text before the server can explain why.
        self.fields["executive_summary"].widget.attrs.pop("maxlength", None)
        self.helper = _helper()
        self.helper.layout = Layout(
            "revision",
            "title",
            Field("executive_summary"),
            Row(
                Column("total_value", css_class="col-md-4"),
                Column("currency", css_class="col-md-2"),
                Column("valid_until", css_class="col-md-6"),
            ),
        )

    @staticmethod
    def initial_for(opportunity) -> dict[str, Any]:
        return {
            "title": f"Proposal for {opportunity.account.name}",
            "total_value": opportunity.amount,
            "currency": opportunity.currency,
            "valid_until": timezone.localdate() + dt.timedelta(days=DEFAULT_VALIDITY_DAYS),
        }

    @staticmethod
    def initial_from(proposal) -> dict[str, Any]:
        return {
            "title": proposal.title,
            "executive_summary": proposal.executive_summary,
            "total_value": proposal.total_value,
            "currency": proposal.currency,
            "valid_until": proposal.valid_until,
            "revision": proposal.revision,
        }

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("revision", None)
        return data


class SectionForm(forms.Form):
    heading = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Scope, pricing, next steps, …"}),
    )
    body = forms.CharField(
        required=False,
        max_length=MAX_SECTION_BODY,
        label="Text",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self):
        data = super().clean()
        if (data.get("body") or "").strip() and not (data.get("heading") or "").strip():
            self.add_error("heading", "Give this section a heading.")
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("heading") or "").strip() and not (data.get("body") or "").strip()


class BaseSectionFormSet(forms.BaseFormSet):
    """The proposal's sections, in order. A section left blank (no heading, no text) or
    marked for removal is left out; the service replaces all sections with the rest."""

    def service_sections(self) -> list[dict[str, str]]:
        return [
            {
                "heading": form.cleaned_data.get("heading", ""),
                "body": form.cleaned_data.get("body", ""),
            }
            for form in self.forms
            if not self._should_delete_form(form) and not form.is_blank  # type: ignore[attr-defined]  # Django's BaseFormSet method, missing from the stubs
        ]

    def kept_forms(self) -> list[SectionForm]:
        return [f for f in self.forms if not (self.can_delete and self._should_delete_form(f))]  # type: ignore[attr-defined]  # Django's BaseFormSet method, missing from the stubs


def _section_formset(*, extra: int) -> type[BaseSectionFormSet]:
    return forms.formset_factory(  # type: ignore[return-value]  # it subclasses `formset=`; the stubs say only BaseFormSet
        SectionForm,
        formset=BaseSectionFormSet,
        extra=extra,
        can_delete=True,
        max_num=MAX_SECTIONS,
        validate_max=True,
        absolute_max=MAX_SECTIONS + 10,
    )


SectionFormSet = _section_formset(extra=0)
# A new proposal starts with one section to fill in.
NewSectionFormSet = _section_formset(extra=1)
SECTIONS_PREFIX = "sections"


def sections_formset(data=None, *, sections=(), add: bool = False) -> BaseSectionFormSet:
    """Bound to `data` when given (with one more, empty section when `add`), else
    unbound with the `sections` (ProposalSection or dicts) as starting values."""
    if data is not None:
        if add:
            data = data.copy()
            key = f"{SECTIONS_PREFIX}-TOTAL_FORMS"
            try:
                total = int(data.get(key, 0))
            except (TypeError, ValueError):
                total = 0
            data[key] = str(max(0, min(total + 1, MAX_SECTIONS)))
        return SectionFormSet(data, prefix=SECTIONS_PREFIX)
    initial = [
        {"heading": s["heading"], "body": s["body"]}
        if isinstance(s, dict)
        else {"heading": s.heading, "body": s.body}
        for s in sections
    ]
    factory = SectionFormSet if initial else NewSectionFormSet
    return factory(initial=initial, prefix=SECTIONS_PREFIX)


def add_proposal_errors(
    form: ProposalForm, formset: BaseSectionFormSet, exc: ApplicationError
) -> None:
    """A service's error on the proposal form: problems of the sections above the
    sections, the rest on its field (or on top). The summary's failed checks get no field
    error: the checklist next to the summary shows them."""
    details = exc.details if isinstance(exc.details, dict) else {}
    sections = details.get("sections")
    if isinstance(sections, list):
        formset.non_form_errors().extend(str(m) for m in sections)
    shown = copy.copy(exc)
    shown.details = {k: v for k, v in details.items() if k not in ("sections", "checks", "failed")}
    add_service_errors(form, shown)


class SummaryCheckForm(forms.Form):
    """What the live checklist posts: the deal and the text typed so far."""

    opportunity = forms.IntegerField(min_value=1)
    executive_summary = forms.CharField(required=False, strip=False)


class ReviewForm(forms.Form):
    """The reviewer's checklist and comment; one form, two endpoints (approve / request
    changes). Whether every item is confirmed, or a comment is needed, the service says."""

    checklist = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Before approving, confirm",
    )
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when you request changes: say what to change.",
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        self.fields["checklist"].choices = [(i.pk, i.text) for i in self.items]
        self.fields["checklist"].error_messages["invalid_choice"] = (
            "The review checklist changed meanwhile; check the items again."
        )
        self.helper = _helper()

    def checked(self) -> set[str]:
        """The items shown as ticked: what was posted."""
        if not self.is_bound:
            return set()
        return {str(v) for v in self.data.getlist("checklist")}  # type: ignore[attr-defined]  # bound only to request.POST, a QueryDict


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=MAX_COMMENT,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Add a comment…"}),
    )
    section = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def section_id(self) -> int | None:
        """The section the comment is about, as posted (None: the whole proposal)."""
        raw = self.data.get("section") if self.is_bound else self.initial.get("section")
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None
