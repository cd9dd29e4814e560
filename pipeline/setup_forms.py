"""Forms of the pipeline setup pages (administrators and sales leaders): a pipeline from a
template, the pipeline's own fields, a stage, a milestone.

They parse and normalise what was typed; the rules (names taken, warn before rot, a
closed stage without milestones, minimums only on a qualification check…) are the
services', whose refusals `add_setup_errors` puts back on the fields they name.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings

from pipeline.blueprints import BLUEPRINTS
from pipeline.models import (
    AutoCheck,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneKind,
    QualificationElement,
    QualificationFramework,
    Stage,
)
from salesops.exceptions import ApplicationError
from salesops.forms import add_service_errors


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # templates render {% csrf_token %} themselves
    return helper


def _days(label: str, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


def add_setup_errors(form: forms.Form, exc: ApplicationError, aliases: dict[str, str]) -> None:
    """A service's refusal on `form`: a detail keyed by a service field the form shows
    under another name (`aliases`) goes to that field; the rest as add_service_errors."""
    details = exc.details if isinstance(exc.details, dict) else {}
    renamed = {aliases.get(key, key): messages for key, messages in details.items()}
    add_service_errors(form, type(exc)(exc.message, details=renamed, code=exc.code))


class PipelineTemplateForm(forms.Form):
    template = forms.ChoiceField(
        choices=[(b.key, b.label) for b in BLUEPRINTS.values()],
        initial="new_business",
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label="Name of the new pipeline",
        help_text="E.g. “New business” or “Renewals”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["template"].choices = [  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is a ChoiceField
            (b.key, f"{b.label} — {b.summary}") for b in BLUEPRINTS.values()
        ]


class PipelineForm(forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Description"
    )
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="Only active pipelines are offered for new deals and on the board.",
    )
    framework: forms.ModelChoiceField[QualificationFramework] = forms.ModelChoiceField(
        queryset=QualificationFramework.objects.none(),
        required=False,
        empty_label="No qualification framework",
        label="Qualification framework",
        help_text="What deals in this pipeline are assessed with.",
    )

    def __init__(self, *args: Any, frameworks: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["framework"].queryset = frameworks  # type: ignore[attr-defined]  # fields[...] is typed Field; this one is the ModelChoiceField above
        self.helper = _helper()

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "is_active": data["is_active"],
            "framework": data["framework"],
        }


class StageForm(forms.Form):
    OUTCOMES = [
        ("open", "Open — deals work through it"),
        ("won", "Closed won"),
        ("lost", "Closed lost"),
    ]
    # A stage's is_won / is_lost are one choice on the page.
    ALIASES = {"is_won": "outcome", "is_lost": "outcome"}

    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}))
    probability = forms.IntegerField(
        label="Probability, %",
        help_text="Default win probability of a deal in this stage (0–100).",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    forecast_category = forms.ChoiceField(
        choices=ForecastCategory.choices,
        label="Forecast category",
        help_text="A deal's default category in this stage.",
    )
    outcome = forms.ChoiceField(
        choices=OUTCOMES, initial="open", widget=forms.RadioSelect, label="Kind of stage"
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Guidance",
        help_text="What a rep should know and do here; shown on every deal in this stage.",
    )
    expected_days = _days("Expected days", "How long a deal usually stays.")
    warn_days = _days("Warn after (days)", "Amber on the board from this many days.")
    rot_days = _days("Rots after (days)", "Red, and flagged, from this many days.")
    qualification_validity_days = _days(
        "Qualification valid for (days)", "Blank: the organisation's default."
    )
    no_activity_days = _days("No-activity flag after (days)", "Blank: the organisation's default.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        for field, default in (
            ("qualification_validity_days", settings.QUALIFICATION_VALIDITY_DAYS),
            ("no_activity_days", settings.NO_ACTIVITY_DAYS),
        ):
            self.fields[field].help_text = f"Blank: the organisation's default ({default} days)."

    @classmethod
    def initial_for(cls, stage: Stage) -> dict[str, Any]:
        fields = (
            "name", "probability", "forecast_category", "guidance", "expected_days",
            "warn_days", "rot_days", "qualification_validity_days", "no_activity_days",
        )  # fmt: skip
        outcome = "won" if stage.is_won else "lost" if stage.is_lost else "open"
        return {f: getattr(stage, f) for f in fields} | {"outcome": outcome}

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        outcome = data.pop("outcome")
        return data | {"is_won": outcome == "won", "is_lost": outcome == "lost"}


class MilestoneForm(forms.Form):
    """A milestone, with one minimum-level choice per element of the pipeline's framework
    (`level_<element id>`) for the automatic qualification check."""

    LEVELS = [
        ("", "—"),
        ("1", "1 identified"),
        ("2", "2 partly validated"),
        ("3", "3 validated with evidence"),
    ]

    title = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How the rep knows it is met.",
    )
    kind = forms.ChoiceField(
        choices=MilestoneKind.choices,
        initial=MilestoneKind.SELLER_ACTION,
        widget=forms.RadioSelect,
        help_text="A buyer commitment is an outcome the customer verifies.",
    )
    required = forms.BooleanField(
        required=False, initial=True, help_text="Required to leave the stage."
    )
    requires_evidence = forms.BooleanField(
        required=False, label="Requires evidence", help_text="Ticking it asks for evidence."
    )
    auto_check = forms.ChoiceField(
        choices=AutoCheck.choices, required=False, label="Automatic check"
    )
    completable_by = forms.ChoiceField(
        choices=MilestoneCompleter.choices,
        required=False,  # not sent: as it is (a new milestone: the owner)
        initial=MilestoneCompleter.OWNER,
        label="Who ticks it",
        help_text="A milestone that states the manager's act (“terms approved internally”) "
        "is ticked by the manager only. An automatic one is ticked by nobody: leave it at "
        "the owner.",
    )
    min_qualification_score = forms.IntegerField(
        required=False,
        label="Minimum qualification score, %",
        help_text="With the qualification check only.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, elements: list[QualificationElement], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.elements = elements
        for element in elements:
            self.fields[self.level_field(element.pk)] = forms.ChoiceField(
                choices=self.LEVELS, required=False, label=f"{element.name} at least"
            )

    @staticmethod
    def level_field(element_id: int | str) -> str:
        return f"level_{element_id}"

    @property
    def level_fields(self) -> list[forms.BoundField]:
        return [self[self.level_field(e.pk)] for e in self.elements]

    @classmethod
    def initial_for(cls, milestone: Milestone) -> dict[str, Any]:
        fields = (
            "title", "description", "kind", "required", "requires_evidence", "auto_check",
            "completable_by", "min_qualification_score",
        )  # fmt: skip
        levels = {
            cls.level_field(lvl.element_id): str(lvl.min_level)
            for lvl in milestone.element_levels.all()
        }
        return {f: getattr(milestone, f) for f in fields} | levels

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        checks_qualification = data["auto_check"] == AutoCheck.QUALIFICATION
        fields: dict[str, Any] = {
            name: data[name]
            for name in ("title", "description", "kind", "required", "requires_evidence")
        }
        fields["auto_check"] = data["auto_check"] or ""
        if data.get("completable_by"):
            fields["completable_by"] = data["completable_by"]
        levels = [
            {"element": e.pk, "min_level": int(data[self.level_field(e.pk)])}
            for e in self.elements
            if data.get(self.level_field(e.pk))
        ]
        # Turning the check off drops minimums left as they were; a minimum typed without
        # the check goes to the service, which says it needs the check.
        typed_levels = any(self.level_field(e.pk) in self.changed_data for e in self.elements)
        if checks_qualification or "min_qualification_score" in self.changed_data:
            fields["min_qualification_score"] = data["min_qualification_score"]
        if checks_qualification or typed_levels:
            fields["element_levels"] = levels
        return fields

    def add_errors(self, exc: ApplicationError) -> None:
        """The service's refusal at the fields: element minimums keyed by element id go
        to that element's choice; a refusal of the minimums as a whole to the check."""
        details = dict(exc.details) if isinstance(exc.details, dict) else {}
        levels = details.pop("element_levels", None)
        if isinstance(levels, dict):
            for key, problems in levels.items():
                field = self.level_field(key)
                messages = [
                    m
                    for ms in (problems.values() if isinstance(problems, dict) else [problems])
                    for m in (ms if isinstance(ms, list) else [ms])
                ]
                for message in messages:
                    self.add_error(field if field in self.fields else None, str(message))
        elif isinstance(levels, list):
            details.setdefault("auto_check", []).extend(levels)
        add_service_errors(self, type(exc)(exc.message, details=details, code=exc.code))
