"""Forms of the qualification framework setup pages (administrators and sales leaders): a
framework's own fields and one element.

They parse what was typed; the rules (a name taken in any case, a weight from 1 to 100,
an order from 0 to 32767…) are the services', whose refusals `add_service_errors` puts
back on the fields they name.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms

from pipeline.models import QualificationElement, QualificationFramework


def _helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # templates render {% csrf_token %} themselves
    return helper


def _whole_number(label: str, help_text: str, *, required: bool) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        required=required,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class FrameworkForm(forms.Form):
    """A framework's name and description; `is_active` only when editing one (a new one
    starts active)."""

    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When to use it, where it comes from.",
    )
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="Only an active framework can be chosen for a pipeline; the pipelines "
        "using it keep it.",
    )

    def __init__(self, *args: Any, editing: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["is_active"]
        self.helper = _helper()

    @classmethod
    def initial_for(cls, framework: QualificationFramework) -> dict[str, Any]:
        return {
            "name": framework.name,
            "description": framework.description,
            "is_active": framework.is_active,
        }

    def service_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ElementForm(forms.Form):
    """One element of a framework. On the framework's page each element has its own form
    (`prefix` "element-<id>"); a new one leaves `order` blank to go last."""

    name = forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}))
    weight = _whole_number("Weight", "1–100: its share of the score.", required=True)
    order = _whole_number("Order", "Lower comes first.", required=False)
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What “validated with evidence” looks like.",
    )

    def __init__(self, *args: Any, new: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if new:
            self.fields["order"].help_text = "Blank: after the others."
            self.fields["weight"].initial = 1
        else:
            self.fields["order"].required = True
        self.helper = _helper()

    @classmethod
    def initial_for(cls, element: QualificationElement) -> dict[str, Any]:
        return {
            "name": element.name,
            "weight": element.weight,
            "order": element.order,
            "guidance": element.guidance,
        }

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("order") is None:
            data.pop("order", None)
        return data
