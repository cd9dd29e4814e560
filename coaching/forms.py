"""Forms of the coaching pages: they validate and normalise input, never hold business
rules. Who may assess whom, which skills count and what needs evidence live in
coaching.services; its errors are shown on these forms with `add_service_errors`."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from coaching.models import LEVELS
from coaching.services import MAX_EVIDENCE

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AssessmentForm(forms.Form):
    """Rep, skill, level, date and evidence. Rep and skill are plain ids (the pickers
    offer what the user may choose): whether the rep is in the user's teams and the skill
    in the framework, the service says."""

    rep = forms.IntegerField(label="Rep", min_value=1, widget=forms.Select)
    skill = forms.IntegerField(label="Skill", min_value=1, widget=forms.Select)
    level = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, str(n)) for n in LEVELS],
        widget=forms.RadioSelect,
        help_text="The level descriptors of the skill say what each level looks like.",
    )
    assessed_on = forms.DateField(label="Assessed on", widget=DATE, required=False)
    evidence = forms.CharField(
        required=False,
        max_length=MAX_EVIDENCE,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you saw: the deal, call or document, and when. Needed for level 4 and 5.",
    )

    def __init__(self, *args, people, skills, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].widget.choices = [("", "Choose a rep…")] + [
            (p.pk, str(p)) for p in people
        ]
        self.fields["skill"].widget.choices = [("", "Choose a skill…")] + [
            (s.pk, s.name) for s in skills
        ]
        self.fields["assessed_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template renders {% csrf_token %}

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "rep_id": data["rep"],
            "skill_id": data["skill"],
            "level": data["level"],
            "assessed_on": data.get("assessed_on"),
            "evidence": data.get("evidence", ""),
        }
