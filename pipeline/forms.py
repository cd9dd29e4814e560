"""Forms of the pipeline pages: they validate and normalise input, never hold business rules.

Rules live in pipeline.services; a service's ValidationFailed is mapped back onto the
form with `salesops.forms.add_service_errors` so the user sees it next to the field they typed in.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.db.models import QuerySet

from pipeline.models import (
    Account,
    ActivityKind,
    EvidenceSource,
    FlagKind,
    FlagSeverity,
    ForecastCategory,
    OpportunityStatus,
    Pipeline,
    Product,
    Stage,
)
from pipeline.rules import SCORE_LEVELS, format_day
from pipeline.selectors import ATTENTION_SORTS
from salesops import organisation
from salesops.exceptions import ApplicationError
from salesops.models import Team, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _helper(*, tag: bool = False) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = tag
    helper.disable_csrf = True  # templates render {% csrf_token %} themselves
    return helper


class OpportunityFilterForm(forms.Form):
    """The list page's filters (GET). Only valid values reach the selector; a field with
    an error is left out. The status is "open" unless another is chosen (empty or
    invalid: "open"); "all" is every status."""

    STATUS_ALL = "all"

    search = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name or account", "type": "search"}),
    )
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All owners"
    )
    stage: forms.ModelChoiceField[Stage] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All stages"
    )
    status = forms.ChoiceField(
        required=False,
        initial=OpportunityStatus.OPEN,
        choices=[*OpportunityStatus.choices, (STATUS_ALL, "All")],
    )
    close_date_from = forms.DateField(required=False, widget=DATE, label="Closes from")
    close_date_to = forms.DateField(required=False, widget=DATE, label="to")
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All teams", help_text="Sub-teams included."
    )
    source = forms.CharField(
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"placeholder": "e.g. hubspot"}),
        help_text="The system a deal came from.",
    )
    external_id = forms.CharField(
        required=False, max_length=100, label="External id", help_text="Its id there."
    )

    def __init__(self, *args, owners, stages, show_owner: bool, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["stage"].queryset = stages  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        if not show_owner:
            del self.fields["owner"]
            del self.fields["team"]
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else ("form-control form-control-sm")
            )

    def clean(self):
        data = super().clean()
        start, end = data.get("close_date_from"), data.get("close_date_to")
        if start and end and start > end:
            self.add_error("close_date_to", "The end of the range is before its start.")
        return data

    def _valid_data(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()  # a field with an error is left out of cleaned_data
        return self.cleaned_data

    def status_choice(self) -> str:
        """open (the default), won or lost; "" for every status."""
        status = self._valid_data().get("status") or OpportunityStatus.OPEN
        return "" if status == self.STATUS_ALL else status

    def selector_filters(self) -> dict:
        data = self._valid_data()
        filters = {
            "search": data.get("search") or "",
            "owner": data["owner"].pk if data.get("owner") else None,
            "team": data["team"].pk if data.get("team") else None,
            "stage": data["stage"].pk if data.get("stage") else None,
            "status": self.status_choice(),
            "source": (data.get("source") or "").strip(),
            "external_id": (data.get("external_id") or "").strip(),
            "close_date_from": data.get("close_date_from"),
            "close_date_to": data.get("close_date_to"),
        }
        return {k: v for k, v in filters.items() if v}


class BoardFilterForm(forms.Form):
    pipeline: forms.ModelChoiceField[Pipeline] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=None
    )
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Everyone I can see"
    )

    def __init__(self, *args, pipelines, owners, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = pipelines  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["owner"].widget.attrs["class"] = "form-select form-select-sm"
        if not show_owner:
            del self.fields["owner"]


class PastCloseDateConfirmation(forms.Form):
    """Asks before an open deal gets a close date in the past (the API does not ask).

    The close date is when the rep expects to win the deal; a date already gone is most
    often a typo or a slipped deal nobody re-planned. Such a date is refused at its field
    with a warning and a "save anyway" checkbox, the typed values kept, and saved once the
    box is ticked (the deal then carries its "Close date passed" flag at once). Keeping a
    close date that has already passed (`stored_close_date`) does not ask again."""

    confirm_past_close_date = forms.BooleanField(
        required=False, label="Yes, the close date is in the past: save it anyway"
    )
    # Where the checkbox goes in the layout once it is asked for (it is hidden before).
    confirmation_position = 0

    def __init__(self, *args, stored_close_date: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_close_date = stored_close_date

    def clean(self):
        data = super().clean()
        close = data.get("close_date")
        in_past = (
            close is not None
            and close != self.stored_close_date
            and close < organisation.current().today()
        )
        if in_past and not data.get("confirm_past_close_date"):
            self.add_error(
                "close_date",
                f"{format_day(close)} is in the past. The close date is when you expect "
                "to win the deal: choose a later date, or tick “Yes, the close date is in the "
                "past” to save it (the deal is then flagged “Close date passed”).",
            )
        if in_past or data.get("confirm_past_close_date"):
            self.helper.layout.insert(
                self.confirmation_position,
                Field("confirm_past_close_date", wrapper_class="so-confirm-past-close"),
            )
        return data


class OpportunityCreateForm(PastCloseDateConfirmation):
    confirmation_position = 3  # under the amount, currency and close date

    name = forms.CharField(max_length=200, label="Opportunity name")
    account: forms.ModelChoiceField[Account] = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="— choose an existing account —",
    )
    new_account_name = forms.CharField(
        max_length=200,
        required=False,
        label="…or a new account",
        help_text="Type a name to create the account together with the opportunity.",
    )
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, initial=0)
    currency = forms.CharField(max_length=3)
    close_date = forms.DateField(widget=DATE, label="Expected close date")
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Me"
    )
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— none —"
    )
    next_step = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, accounts, owners, show_owner: bool, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = organisation.current().default_currency
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.fields["product"].queryset = products  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        if not show_owner:
            del self.fields["owner"]
        self.helper = _helper()
        self.helper.layout = Layout(
            "name",
            Row(
                Column("account", css_class="col-md-6"),
                Column("new_account_name", css_class="col-md-6"),
            ),
            Row(
                Column("amount", css_class="col-md-4"),
                Column("currency", css_class="col-md-2"),
                Column("close_date", css_class="col-md-6"),
            ),
            *(["owner"] if show_owner else []),
            "product",
            "next_step",
        )

    def clean(self):
        data = super().clean()
        if data.get("account") and (data.get("new_account_name") or "").strip():
            self.add_error(
                "new_account_name", "Choose an existing account or type a new one, not both."
            )
        elif (
            not data.get("account")
            and not (data.get("new_account_name") or "").strip()
            and "account" not in self.errors
        ):
            self.add_error("account", "Choose the customer's account or type a new account name.")
        return data


class OpportunityEditForm(PastCloseDateConfirmation):
    confirmation_position = 2  # under the amount and close date

    version = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    close_date = forms.DateField(widget=DATE)
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— none —"
    )
    next_step = forms.CharField(max_length=300, required=False)
    next_step_date = forms.DateField(widget=DATE, required=False)
    forecast_category = forms.ChoiceField(
        choices=[c for c in ForecastCategory.choices if c[0] != ForecastCategory.CLOSED]
    )
    forecast_category_override_reason = forms.CharField(
        required=False,
        label="Why this category?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the category differs from the stage's default.",
    )

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.helper = _helper()
        self.helper.layout = Layout(
            "version",
            Row(Column("amount", css_class="col-sm-6"), Column("close_date", css_class="col-sm-6")),
            "product",
            Row(
                Column("next_step", css_class="col-sm-8"),
                Column("next_step_date", css_class="col-sm-4"),
            ),
            "forecast_category",
            "forecast_category_override_reason",
        )

    def service_changes(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version")
        data.pop("confirm_past_close_date")
        return data


class MilestoneToggleForm(forms.Form):
    done = forms.BooleanField(required=False)
    evidence = forms.CharField(required=False, max_length=10_000)


class BusinessIssueForm(forms.Form):
    issue = forms.CharField(
        max_length=300,
        label="Business issue",
        widget=forms.TextInput(attrs={"placeholder": "What hurts the customer?"}),
    )
    impact = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What it costs them, in their words.",
    )
    our_value = forms.CharField(
        required=False,
        label="Our value",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How we solve it, specifically.",
    )
    quantified_value = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="Quantified value"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices, initial=ActivityKind.CALL)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2}))
    occurred_at = forms.DateTimeField(
        required=False,
        label="When",
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.helper.layout = Layout(
            Row(Column("kind", css_class="col-sm-4"), Column("subject", css_class="col-sm-8")),
            "body",
            Field("occurred_at"),
        )


class AdvanceForm(forms.Form):
    stage: forms.ModelChoiceField[Stage] = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        label="Move to",
        error_messages={
            "invalid_choice": "Choose one of this pipeline's open stages. To close the deal, "
            "use Close as won or Close as lost."
        },
    )
    # Not stripped: a reason of only spaces reaches the service, which refuses it with a
    # message about the reason (stripped, it would silently mean "no override").
    override_reason = forms.CharField(
        required=False,
        strip=False,
        max_length=10_000,
        label="Override reason",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # --- pipeline: category override on stage moves ---
    # The answer to "keep the manual forecast category or use the stage's default?";
    # the service validates it (one rule for the page, the board, the API and imports).
    forecast_category_on_move = forms.CharField(required=False, max_length=20)

    def __init__(self, *args: Any, stages: QuerySet[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = stages  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above


class CloseWonForm(forms.Form):
    override_reason = forms.CharField(  # not stripped, as in AdvanceForm
        required=False,
        strip=False,
        max_length=10_000,
        label="Override reason",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CloseLostForm(forms.Form):
    loss_reason = forms.CharField(
        max_length=10_000, label="Why was it lost?", widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


# --- qualification ---------------------------------------------------------------------

LEVEL_CHOICES = [(level, f"{level} · {name.lower()}") for level, name in SCORE_LEVELS.items()]
SOURCE_CHOICES = [("", "— source —"), *EvidenceSource.choices]
_SCORE_KEY = re.compile(r"score_(\d{1,18})")


class QualificationForm(forms.Form):
    """One row per element: score_<id>, evidence_<id>, source_<id>; plus a note.

    Types only: whether a score is 0–3, whether evidence is needed, whether every element
    is scored, whether an element belongs to the deal's framework — the service decides,
    and `add_service_errors` puts its answer next to the row it is about."""

    levels = list(SCORE_LEVELS.items())
    sources = SOURCE_CHOICES

    note = forms.CharField(
        required=False,
        max_length=10_000,
        label="Note (optional)",
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )

    def __init__(self, *args, elements, latest_scores, **kwargs):
        super().__init__(*args, **kwargs)
        self.elements = list(elements)
        self.latest_scores = latest_scores
        known = [e.id for e in self.elements]
        # Element ids posted that are not this framework's (a tampered form, or the
        # framework changed meanwhile) go to the service too, which refuses them.
        self.foreign_ids = sorted(
            {
                int(m.group(1))
                for key in (self.data if self.is_bound else {})
                if (m := _SCORE_KEY.fullmatch(key)) and int(m.group(1)) not in known
            }
        )
        for element_id in [*known, *self.foreign_ids]:
            current = latest_scores.get(element_id)
            self.fields[f"score_{element_id}"] = forms.IntegerField(
                required=False,
                initial=current.score if current else None,
                widget=forms.RadioSelect(choices=LEVEL_CHOICES),
                error_messages={"invalid": "Choose a level from 0 to 3."},
            )
            self.fields[f"evidence_{element_id}"] = forms.CharField(
                required=False,
                max_length=10_000,
                initial=current.evidence if current else "",
                widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
            )
            self.fields[f"source_{element_id}"] = forms.ChoiceField(
                required=False,
                choices=SOURCE_CHOICES,
                initial=current.source if current else "",
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def rows(self) -> list[dict]:
        return [
            {
                "element": e,
                "current": self.latest_scores.get(e.id),
                "score": self[f"score_{e.id}"],
                "evidence": self[f"evidence_{e.id}"],
                "source": self[f"source_{e.id}"],
                "chosen": self._chosen(e.id),
                **self._current_level(self.latest_scores.get(e.id)),
            }
            for e in self.elements
        ]

    @staticmethod
    def _current_level(current) -> dict[str, str]:
        if current is None:
            return {"current_level": "", "current_band": ""}
        band = "green" if current.score >= 3 else "amber" if current.score == 2 else "red"
        return {"current_level": SCORE_LEVELS.get(current.score, ""), "current_band": band}

    def _chosen(self, element_id: int) -> str:
        """The level shown as selected: what was posted, else the current score."""
        value = self[f"score_{element_id}"].value()
        return "" if value is None else str(value)

    def foreign_errors(self) -> list[str]:
        return [
            f"Element #{element_id}: {message}"
            for element_id in self.foreign_ids
            for name in ("score", "evidence", "source")
            for message in self.errors.get(f"{name}_{element_id}", [])
        ]

    def service_scores(self) -> list[dict]:
        """The scores for `services.qualification_create`; an element left unscored is
        left out, so the service names it as missing."""
        data = self.cleaned_data
        return [
            {
                "element": element_id,
                "score": data[f"score_{element_id}"],
                "evidence": data.get(f"evidence_{element_id}", ""),
                "source": data.get(f"source_{element_id}", ""),
            }
            for element_id in [*(e.id for e in self.elements), *self.foreign_ids]
            if data.get(f"score_{element_id}") is not None
        ]

    def add_service_errors(self, exc: ApplicationError) -> None:
        """details {"scores": {"<element id>": {"score"|"evidence"|"source"|"element": [..]}},
        "note": [..]} onto the row's fields; anything else on top with the message."""
        details = exc.details if isinstance(exc.details, dict) else {}
        names = {str(e.id): e.name for e in self.elements}
        scores = details.get("scores")
        for key, problems in (scores if isinstance(scores, dict) else {}).items():
            for field_name, messages in (problems if isinstance(problems, dict) else {}).items():
                for message in messages if isinstance(messages, list) else [messages]:
                    name = f"{field_name}_{key}"
                    if key in names and name in self.fields:
                        self.add_error(name, str(message))
                    elif key in names:
                        self.add_error(None, f"{names[key]}: {message}")
                    else:
                        self.add_error(None, f"Element #{key.lstrip('#')}: {message}")
        for message in details.get("note", []) if isinstance(details.get("note"), list) else []:
            self.add_error("note", str(message))
        marked = " Fix the marked rows below." if scores else ""
        self.add_error(None, exc.message + marked)


class AttentionFilterForm(forms.Form):
    """The "Needs attention" list's filters, sort and grouping (GET). Only valid values
    are used; the owner and the grouping only for those who see others' deals."""

    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *FlagKind.choices])
    severity = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any severity"),
            (FlagSeverity.CRITICAL, "With a critical flag"),
            (FlagSeverity.WARNING, "With a warning"),
        ],
    )
    owner: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All reps"
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in ATTENTION_SORTS.items()]
    )
    group = forms.ChoiceField(
        required=False, label="Group", choices=[("", "No grouping"), ("owner", "By rep")]
    )

    def __init__(self, *args, owners, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        if not show_owner:
            del self.fields["owner"]
            del self.fields["group"]
        for f in self.fields.values():
            f.widget.attrs["class"] = "form-select form-select-sm"

    def selector_args(self) -> tuple[dict, str, bool]:
        """(filters, sort, group by owner) — a field with an error is left out."""
        data: dict = {}
        if self.is_bound:
            self.is_valid()  # a field with an error is left out of cleaned_data
            data = self.cleaned_data
        filters = {
            "kind": data.get("kind") or "",
            "severity": data.get("severity") or "",
            "owner": data["owner"].pk if data.get("owner") else None,
        }
        filters = {k: v for k, v in filters.items() if v}
        return filters, data.get("sort") or "severity", data.get("group") == "owner"


class NextStepForm(forms.Form):
    """The next step and its date, set from the attention list (both needed there)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    next_step = forms.CharField(max_length=300, label="Next step")
    next_step_date = forms.DateField(widget=DATE, label="By")


# --- accounts and products ------------------------------------------------------------


class AccountForm(forms.Form):
    """A customer account (pages: new and edit). The service validates the values."""

    name = forms.CharField(max_length=200)
    domain = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "acme.com"})
    )
    industry = forms.CharField(max_length=100, required=False)
    employees = forms.IntegerField(required=False, min_value=0, max_value=2_147_483_647)
    country = forms.CharField(max_length=100, required=False)
    external_id = forms.CharField(
        max_length=100,
        required=False,
        label="External id",
        help_text="The account's id in your CRM, if it has one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.helper.layout = Layout(
            "name",
            Row(Column("domain", css_class="col-md-6"), Column("industry", css_class="col-md-6")),
            Row(Column("employees", css_class="col-md-6"), Column("country", css_class="col-md-6")),
            "external_id",
        )


class ProductForm(forms.Form):
    """A product of the catalogue (administrators). The service validates the values."""

    name = forms.CharField(max_length=200)
    family = forms.CharField(max_length=100, required=False, help_text="Product line or group.")
    list_price = forms.DecimalField(
        required=False, min_value=0, max_digits=14, decimal_places=2, label="List price"
    )
    currency = forms.CharField(
        max_length=3, required=False, help_text="Of the list price, e.g. EUR."
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label="On offer",
        help_text="Only products on offer can be chosen for a deal; deals keep theirs.",
    )
    external_id = forms.CharField(
        max_length=100,
        required=False,
        label="External id",
        help_text="The product's id in your CRM, if it has one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.helper.layout = Layout(
            "name",
            "family",
            Row(
                Column("list_price", css_class="col-sm-8"), Column("currency", css_class="col-sm-4")
            ),
            "is_active",
            "external_id",
        )


class CatalogueFilterForm(forms.Form):
    """The account and product lists' filters (GET): a name search, and for products
    whether they are on offer. Only valid values are used."""

    search = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name", "type": "search"}),
    )
    active = forms.ChoiceField(
        required=False,
        choices=[("", "All products"), ("true", "On offer"), ("false", "Off the offer")],
    )

    def __init__(self, *args, with_active: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_active:
            del self.fields["active"]
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def selector_filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        filters: dict = {"search": data.get("search") or ""}
        if data.get("active"):
            filters["active"] = data["active"] == "true"
        return filters
