"""Forms of the pipeline pages: they validate and normalise input, never hold business rules.

Rules live in pipeline.services; a service's ValidationFailed is mapped back onto the
form with `salesops.forms.add_service_errors` so the user sees it next to the field they typed in.
"""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms

from pipeline.models import ActivityKind, ForecastCategory, OpportunityStatus

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _helper(*, tag: bool = False) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = tag
    helper.disable_csrf = True  # templates render {% csrf_token %} themselves
    return helper


class OpportunityFilterForm(forms.Form):
    """The list page's filters (GET). Only valid values reach the selector."""

    search = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name or account", "type": "search"}),
    )
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="All owners")
    stage = forms.ModelChoiceField(queryset=None, required=False, empty_label="All stages")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *OpportunityStatus.choices]
    )
    close_date_from = forms.DateField(required=False, widget=DATE, label="Closes from")
    close_date_to = forms.DateField(required=False, widget=DATE, label="to")

    def __init__(self, *args, owners, stages, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["stage"].queryset = stages
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"
        if not show_owner:
            del self.fields["owner"]
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

    def selector_filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        filters = {
            "search": data.get("search") or "",
            "owner": data["owner"].pk if data.get("owner") else None,
            "stage": data["stage"].pk if data.get("stage") else None,
            "status": data.get("status") or "",
            "close_date_from": data.get("close_date_from"),
            "close_date_to": data.get("close_date_to"),
        }
        return {k: v for k, v in filters.items() if v}


class BoardFilterForm(forms.Form):
    pipeline = forms.ModelChoiceField(queryset=None, required=False, empty_label=None)
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Everyone I can see")

    def __init__(self, *args, pipelines, owners, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = pipelines
        self.fields["owner"].queryset = owners
        self.fields["owner"].widget.attrs["class"] = "form-select form-select-sm"
        if not show_owner:
            del self.fields["owner"]


class OpportunityCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Opportunity name")
    account = forms.ModelChoiceField(
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
    currency = forms.CharField(max_length=3, initial="EUR")
    close_date = forms.DateField(widget=DATE, label="Expected close date")
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Me")
    next_step = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, accounts, owners, show_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["owner"].queryset = owners
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


class OpportunityEditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    close_date = forms.DateField(widget=DATE)
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.helper.layout = Layout(
            "version",
            Row(Column("amount", css_class="col-sm-6"), Column("close_date", css_class="col-sm-6")),
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
    stage = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        label="Move to",
        error_messages={
            "invalid_choice": "Choose one of this pipeline's open stages. To close the deal, "
            "use Close as won or Close as lost."
        },
    )
    override_reason = forms.CharField(
        required=False,
        max_length=10_000,
        label="Override reason",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, stages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = stages


class CloseWonForm(forms.Form):
    override_reason = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CloseLostForm(forms.Form):
    loss_reason = forms.CharField(
        max_length=10_000, label="Why was it lost?", widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
