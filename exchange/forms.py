"""Forms of the import pages: they read what the user chose; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from exchange.models import KIND_CHOICES, ImportBatch
from exchange.options import BLANK_CHOICES
from exchange.rules import DATE_FIELDS, FIELDS, ImportKind

BLANK_LABELS = {
    "quarter_end": "the last day of this quarter",
    "unknown": "an account named “Unknown account”",
    "zero": "0",
    "importer": "me (the person importing)",
    "reject": "refuse the row",
}
BLANK_FIELDS = {
    "blank_close_date": "An open deal without a close date gets",
    "blank_account": "A deal without an account gets",
    "blank_amount": "An open deal without an amount gets",
    "blank_owner": "A deal without an owner goes to",
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds", choices=KIND_CHOICES, initial=ImportKind.OPPORTUNITIES
    )
    source = forms.CharField(
        label="Where it comes from",
        max_length=40,
        help_text="The CRM or system, e.g. Salesforce. Re-importing from the same source "
        "updates its records instead of duplicating them, and reuses its mapping.",
        widget=forms.TextInput(attrs={"list": "known-sources", "autocomplete": "off"}),
    )
    file = forms.FileField(
        label="CSV file",
        help_text="An export with a header row: UTF-8 or Windows-1252, commas, semicolons or tabs.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )


class ConfigureForm(forms.Form):
    """The mapping page: one field per file column, per value to map and per option —
    built from the batch and its last preview."""

    def __init__(
        self,
        batch: ImportBatch,
        *args: Any,
        stages: list[tuple[int, str]],
        people: list[tuple[int, str]],
        pipelines: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.batch = batch
        kind = ImportKind(batch.kind)
        field_choices = [("", "— ignore —")] + [(f.name, f.label) for f in FIELDS[kind]]
        preview = batch.preview or {}
        samples = preview.get("column_samples", {})
        self.column_fields = []
        for index, column in enumerate(batch.header):
            name = f"map_{index}"
            self.fields[name] = forms.ChoiceField(
                label=column,
                choices=field_choices,
                required=False,
                initial=batch.mapping.get(column, ""),
                help_text=samples.get(column, ""),
            )
            self.column_fields.append(name)
        self.value_fields: dict[str, list[str]] = {"stage": [], "owner": []}
        if kind == ImportKind.OPPORTUNITIES:
            self._value_fields(
                "stage", preview.get("stage_values", {}), stages, preview.get("stage_matches", {})
            )
            self._value_fields("owner", preview.get("owner_values", {}), people)
            self.fields["pipeline_id"] = forms.TypedChoiceField(
                label="Pipeline",
                choices=pipelines,
                coerce=int,
                required=False,
                initial=batch.options.get("pipeline_id")
                or (pipelines[0][0] if pipelines else None),
            )
        self.date_fields = []
        orders = batch.options.get("date_orders") or {}
        questions = preview.get("date_questions", {})
        for field_name in sorted(DATE_FIELDS & set(batch.mapping.values())):
            name = f"date_{field_name}"
            self.fields[name] = forms.ChoiceField(
                label=dict((f.name, f.label) for f in FIELDS[kind])[field_name],
                choices=[
                    ("", "as detected"),
                    ("mdy", "month/day/year (3/14/2024)"),
                    ("dmy", "day/month/year (14/3/2024)"),
                ],
                required=False,
                initial=orders.get(field_name, ""),
                help_text=_date_help(questions.get(field_name)),
            )
            self.date_fields.append(name)
        self.fields["decimal_comma"] = forms.ChoiceField(
            label="Decimal mark in amounts",
            choices=[
                ("auto", "as detected"),
                ("dot", "dot: 1,250.50"),
                ("comma", "comma: 1.250,50"),
            ],
            required=False,
            initial={None: "auto", True: "comma", False: "dot"}[batch.options.get("decimal_comma")],
        )
        self.blank_fields = []
        if kind == ImportKind.OPPORTUNITIES:
            for name, choices in BLANK_CHOICES.items():
                self.fields[name] = forms.ChoiceField(
                    label=BLANK_FIELDS[name],
                    choices=[(c, BLANK_LABELS[c]) for c in choices],
                    initial=batch.options.get(name, choices[0]),
                )
                self.blank_fields.append(name)
            self.fields["create_unknown_owners"] = forms.BooleanField(
                label="Create owners nobody here matches, as inactive reps",
                required=False,
                initial=batch.options.get("create_unknown_owners", False),
            )
        if kind == ImportKind.PEOPLE:
            self.fields["invite"] = forms.BooleanField(
                label="Email new people an invitation to set their password",
                required=False,
                initial=batch.options.get("invite", True),
            )
        for name, form_field in self.fields.items():
            if isinstance(form_field.widget, forms.CheckboxInput):
                form_field.widget.attrs["class"] = "form-check-input"
            else:
                small = name.startswith(("map_", "stage_", "owner_"))
                form_field.widget.attrs["class"] = (
                    "form-select form-select-sm" if small else "form-select"
                )

    # Bound fields by section, for the template.
    def _bound(self, names: list[str]) -> list[forms.BoundField]:
        return [self[name] for name in names]

    @property
    def column_rows(self) -> list[forms.BoundField]:
        return self._bound(self.column_fields)

    @property
    def stage_rows(self) -> list[forms.BoundField]:
        return self._bound(self.value_fields["stage"])

    @property
    def owner_rows(self) -> list[forms.BoundField]:
        return self._bound(self.value_fields["owner"])

    @property
    def date_rows(self) -> list[forms.BoundField]:
        return self._bound(self.date_fields)

    @property
    def blank_rows(self) -> list[forms.BoundField]:
        return self._bound(self.blank_fields)

    def _value_fields(
        self,
        field_name: str,
        values: dict[str, int],
        choices: list[tuple[int, str]],
        matches: dict[str, int | None] | None = None,
    ) -> None:
        """One choice per distinct value of the file: the user's mapping, else where the
        value lands by itself (`matches`: a stage of that name, Closed Won…)."""
        current = {**(matches or {}), **self.batch.value_maps.get(field_name, {})}
        for index, (value, count) in enumerate(values.items()):
            name = f"{field_name}_{index}"
            self.fields[name] = forms.TypedChoiceField(
                label=value,
                choices=[
                    ("", "— as named —" if field_name == "owner" else "— not mapped —"),
                    *choices,
                ],
                coerce=int,
                empty_value=None,
                required=False,
                initial=current.get(value) or "",
                help_text=f"{count} row{'s' if count != 1 else ''}",
            )
            self.value_fields[field_name].append(name)

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data.get(f"map_{index}") or ""
            for index, column in enumerate(self.batch.header)
        }

    def value_maps(self) -> dict[str, dict[str, int]]:
        maps: dict[str, dict[str, int]] = {}
        for field_name, names in self.value_fields.items():
            for name in names:
                target = self.cleaned_data.get(name)
                if target is not None:
                    # The label is the file's value (a str), set by _value_fields.
                    maps.setdefault(field_name, {})[self.fields[name].label] = target  # type: ignore[index]  # label typed str | _StrPromise | None
        return maps

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        options: dict[str, Any] = {
            "date_orders": {
                name.removeprefix("date_"): data[name]
                for name in self.date_fields
                if data.get(name)
            },
            "decimal_comma": {"auto": None, "comma": True, "dot": False}.get(
                data.get("decimal_comma") or "auto"
            ),
        }
        for name in (*self.blank_fields, "pipeline_id", "create_unknown_owners", "invite"):
            if name in self.fields:
                options[name] = data.get(name)
        return options


def _date_help(question: dict[str, Any] | None) -> str:
    if not question:
        return ""
    if question.get("conflicting"):
        return (
            f"Mixed: some dates only fit month/day and others only day/month (e.g. "
            f"{question.get('example', '')}). Choose one; the others are refused."
        )
    return (
        f"{question.get('slashed', 0)} dates like 3/4/2024 could be read either way: "
        "choose how this column writes them."
    )
