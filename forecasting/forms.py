"""Forms of the forecasting pages. They only shape input; the rules are in the services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from crispy_forms.helper import FormHelper
from django import forms

from forecasting.services import (
    MEETING_NOTES_MAX,
    SUBMISSION_NOTE_MAX,
    QuotaChange,
    period_from_label,
)
from salesops.cleaning import query_int
from salesops.exceptions import ValidationFailed

# --- forecast pages and calls ---


class ForecastCallForm(forms.Form):
    """A forecast call: commit, best case and notes; for a team (managers, leaders) also the
    adjustment note. The period and the team travel as hidden inputs the view reads, so
    that the service says what is wrong with them. Amounts are only shaped here (a number
    of at most 12 digits and cents, not negative); best case not below commit, the period
    still open and when an adjustment note is needed, the service decides."""

    commit = forms.DecimalField(
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="What you are confident of closing in the period, closed won included.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    best_case = forms.DecimalField(
        label="Best case",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="What could close if things go well; not below commit.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    notes = forms.CharField(
        required=False,
        max_length=SUBMISSION_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the call rests on: the deals that make it, the risks.",
    )
    adjustment_note = forms.CharField(
        label="Adjustment note",
        required=False,
        max_length=SUBMISSION_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the team's commit or best case differs from the sum of "
        "its reps' calls: say why.",
    )

    def __init__(self, *args, for_team: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not for_team:
            del self.fields["adjustment_note"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template renders {% csrf_token %}

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {
            "commit": data["commit"],
            "best_case": data["best_case"],
            "notes": data["notes"],
        }
        if "adjustment_note" in self.fields:
            fields["adjustment_note"] = data["adjustment_note"]
        return fields


# --- forecast meetings ---
# Shape only: forecasting.services.meeting_create / meeting_update decide who may attend,
# which dates are allowed and whether the team may be picked; their errors land on these
# fields through add_service_errors.

MEETING_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AttendeesField(forms.TypedMultipleChoiceField):
    """User ids as checkboxes. Whether each may attend is the service's rule (its message
    names the person), so any whole number passes here."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, widget=forms.CheckboxSelectMultiple, required=False, **kwargs)

    def valid_value(self, value) -> bool:
        return query_int(value) is not None


class MeetingFilterForm(forms.Form):
    """The meeting list's filters (GET). Only a valid team reaches the selector; the
    period label is checked by the selector (a bad one shows its message)."""

    period = forms.CharField(required=False, max_length=20, label="Period")
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Team")

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All teams")] + [(t.pk, t.name) for t in teams]
        self.fields["team"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["period"].widget.attrs.update(
            {"class": "form-control form-control-sm", "placeholder": "e.g. 2026-Q3"}
        )


MAX_PERIOD_LABEL = 20  # "FY2027-Q1" is 9


class PeriodField(forms.ChoiceField):
    """A fiscal month or quarter, picked from a select of nearby periods (the choices,
    grouped). A label the select does not list still passes when the fiscal calendar
    reads it (a link may name any period); one it cannot read is refused with the
    calendar's message. Cleans to the period's label."""

    def valid_value(self, value) -> bool:
        return True  # validate() asks the calendar instead of the list

    def validate(self, value) -> None:
        super().validate(value)
        if value in self.empty_values:
            return
        if len(value) > MAX_PERIOD_LABEL or "\x00" in value:  # not worth echoing back
            raise forms.ValidationError("Choose a period from the list.")
        try:
            period_from_label(value)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.details.get("period") or exc.message) from exc

    def clean(self, value) -> str:
        value = super().clean(value)
        return period_from_label(value).label if value else value


def _period_option(period) -> tuple[str, str]:
    first, last = period.start, period.last_day
    months = f"{last:%b %Y}" if first.month == last.month else f"{first:%b}–{last:%b %Y}"
    return period.label, f"{period.label} ({months})"


def period_choices(groups) -> list[tuple[str, list[tuple[str, str]]]]:
    """(group, [Period]) as a select's grouped choices: "2026-Q3 (Jul–Sep 2026)",
    "2026-07 (Jul 2026)"."""
    return [(group, [_period_option(p) for p in periods]) for group, periods in groups]


class MeetingForm(forms.Form):
    """A new meeting: team, period (a select of nearby fiscal periods: `periods`, as
    (group, [Period])), date, attendees (checkboxes of who may attend the chosen team's
    meeting) and notes."""

    team = forms.TypedChoiceField(coerce=int, empty_value=None)
    period = PeriodField()
    held_on = forms.DateField(label="Held on", widget=MEETING_DATE, required=False)
    attendees = AttendeesField()
    notes = forms.CharField(
        required=False,
        max_length=MEETING_NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What the team said about the number: the calls, the deals, the plan.",
    )

    def __init__(self, *args, teams, people, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]
        self.fields["period"].choices = period_choices(periods)
        self.fields["attendees"].choices = [(p.pk, _person_label(p)) for p in people]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "period": data["period"],
            "team_id": data["team"],
            "held_on": data.get("held_on"),
            "attendee_ids": data.get("attendees") or [],
            "notes": data.get("notes", ""),
        }


class MeetingEditForm(forms.Form):
    """The meeting page's edit form: notes, attendees and date (the numbers stay)."""

    held_on = forms.DateField(label="Held on", widget=MEETING_DATE)
    attendees = AttendeesField()
    notes = forms.CharField(
        required=False, max_length=MEETING_NOTES_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].choices = [(p.pk, _person_label(p)) for p in people]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "held_on": data["held_on"],
            "attendee_ids": data.get("attendees") or [],
            "notes": data.get("notes", ""),
        }


def _person_label(person) -> str:
    where = person.team.name if person.team_id else person.get_role_display()
    return f"{person} ({where})"


# --- quotas ---


class QuotaGridForm(forms.Form):
    """The quota page's grid: per row (a person or a team) its amount, its currency and,
    hidden, what the page showed (`<key>-was`, "<amount> <currency>" or empty), so that
    only the cells the user changed are sent to the service, which also tells a cell
    changed by someone else meanwhile from one changed here. An empty amount removes the
    quota; an empty currency is the organisation's."""

    period = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, grid, **kwargs):
        super().__init__(*args, **kwargs)
        self.grid = grid
        self.initial.setdefault("period", grid.period.label)
        for row in grid.rows:
            self.fields[f"{row.key}-amount"] = forms.DecimalField(
                required=False,
                max_digits=14,
                decimal_places=2,
                label=f"Quota of {row.name}",
                # Text, not a number input: a browser sends an unparsable number as "",
                # which here would remove the quota.
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
            )
            self.fields[f"{row.key}-currency"] = forms.CharField(
                required=False,
                max_length=3,
                label=f"Currency of {row.name}'s quota",
                widget=forms.TextInput(
                    attrs={"class": "form-control", "size": 3, "autocomplete": "off"}
                ),
            )
            self.fields[f"{row.key}-was"] = forms.CharField(
                required=False, widget=forms.HiddenInput
            )
            if row.quota is not None:
                self.initial.setdefault(f"{row.key}-amount", row.quota.amount)
                self.initial.setdefault(f"{row.key}-currency", row.quota.currency)
                self.initial.setdefault(
                    f"{row.key}-was", f"{row.quota.amount} {row.quota.currency}"
                )

    def cells(self, rows) -> list[tuple]:
        """Each row with its amount, currency and hidden `was` fields, for the template."""
        return [
            (row, self[f"{row.key}-amount"], self[f"{row.key}-currency"], self[f"{row.key}-was"])
            for row in rows
        ]

    @staticmethod
    def _shown(text: str) -> tuple[Decimal, str] | None:
        amount, _, currency = (text or "").strip().partition(" ")
        try:
            return (Decimal(amount), currency.strip().upper()) if amount else None
        except InvalidOperation:
            return None

    def changes(self, default_currency: str) -> list[QuotaChange]:
        """The cells whose amount or currency differs from what the page showed."""
        data = self.cleaned_data
        changes = []
        for row in self.grid.rows:
            amount = data.get(f"{row.key}-amount")
            currency = (data.get(f"{row.key}-currency") or "").strip().upper()
            previous = self._shown(data.get(f"{row.key}-was", ""))
            typed = None if amount is None else (amount, currency or default_currency)
            if typed == previous:
                continue
            changes.append(
                QuotaChange(
                    rep_id=row.id if row.kind == "rep" else None,
                    team_id=row.id if row.kind == "team" else None,
                    amount=amount,
                    currency=currency,
                    previous=previous,
                )
            )
        return changes

    def add_cell_errors(self, details: dict) -> None:
        """The service's refusals per cell at the cell: currency problems at the
        currency, every other one (amount, the person, staleness) at the amount."""
        for key, problems in (details.get("cells") or {}).items():
            for name, messages in (problems or {}).items():
                field = f"{key}-currency" if name == "currency" else f"{key}-amount"
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(field if field in self.fields else None, str(message))
