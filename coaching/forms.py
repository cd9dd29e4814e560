"""Forms of the coaching pages: they validate and normalise input, never hold business
rules. Who may assess whom, which skills count and what needs evidence live in
coaching.services; its errors are shown on these forms with `add_service_errors`."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from coaching.models import LEVELS, Skill
from coaching.services import (
    MAX_ACTION_TITLE,
    MAX_EVIDENCE,
    MAX_PRACTICE,
    MAX_SESSION_NOTES,
)

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
    # The view keeps the skills offered here, for the guide shown next to the chosen one.
    skills: list[Skill]

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


# --- 1:1 sessions ---
# Rep and skills are plain ids (the pickers offer what the user may choose): whether the
# rep is in the user's teams and the skills in the framework, coaching.services says.

# The form offers this many action-item rows; more are added on the 1:1's page.
SESSION_ITEM_ROWS = 3
SESSION_ITEMS_PREFIX = "items"
OWNER_CHOICES = [("rep", "The rep"), ("manager", "Me (the manager)")]


def _context_trigger(widget: forms.Widget, url: str) -> None:
    """Choosing the rep or a skill asks the server for the follow-ups and coaching guide
    (htmx GET of the context partial); the page works without it (“Show” button)."""
    widget.attrs.update(
        {
            "hx-get": url,
            "hx-trigger": "change",
            "hx-target": "#session-context",
            "hx-swap": "outerHTML",
            "hx-include": "[name=rep],[name=focus_skill],[name=second_focus_skill]",
        }
    )


class SessionForm(forms.Form):
    """Rep, date, one or two focus skills, notes and a practice assignment; the action
    items are `SessionItemFormSet`."""

    rep = forms.IntegerField(label="Rep", min_value=1, widget=forms.Select)
    held_on = forms.DateField(
        label="Held on", widget=DATE, required=False, help_text="Default: today."
    )
    focus_skill = forms.IntegerField(label="Focus skill", min_value=1, widget=forms.Select)
    second_focus_skill = forms.IntegerField(
        label="Second focus skill", min_value=1, required=False, widget=forms.Select
    )
    notes = forms.CharField(
        required=False,
        max_length=MAX_SESSION_NOTES,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What you discussed, what you heard, what you agreed.",
    )
    practice_assignment = forms.CharField(
        label="Practice assignment",
        required=False,
        max_length=MAX_PRACTICE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the rep practises before the next 1:1, e.g. “role-play a "
        "discovery call with a peer”.",
    )

    def __init__(self, *args, people, skills, context_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.people, self.skills = list(people), list(skills)
        self.fields["rep"].widget.choices = [("", "Choose a rep…")] + [
            (p.pk, str(p)) for p in self.people
        ]
        skill_choices = [(s.pk, s.name) for s in self.skills]
        self.fields["focus_skill"].widget.choices = [("", "Choose a skill…"), *skill_choices]
        self.fields["second_focus_skill"].widget.choices = [("", "None"), *skill_choices]
        self.fields["held_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        if context_url:
            for name in ("rep", "focus_skill", "second_focus_skill"):
                _context_trigger(self.fields[name].widget, context_url)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the template renders {% csrf_token %}

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "rep_id": data["rep"],
            "held_on": data.get("held_on"),
            "focus_skill_id": data["focus_skill"],
            "second_focus_skill_id": data.get("second_focus_skill"),
            "notes": data.get("notes", ""),
            "practice_assignment": data.get("practice_assignment", ""),
        }


class SessionItemForm(forms.Form):
    """One action-item row of the 1:1 form; a row left empty is not an action item."""

    title = forms.CharField(label="Action item", required=False, max_length=MAX_ACTION_TITLE)
    owner = forms.ChoiceField(label="Owner", choices=OWNER_CHOICES, initial="rep", required=False)
    due_on = forms.DateField(label="Due", widget=DATE, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("title") or "").strip() and not data.get("due_on")


class BaseSessionItemFormSet(forms.BaseFormSet):
    def service_items(self, *, rep_id: int, manager_id: int) -> tuple[list[dict], list[int]]:
        """The filled rows as session_create's action_items, and the row index of each
        (to put the service's per-item errors back on their row)."""
        items, rows = [], []
        for index, form in enumerate(self.forms):
            if form.is_blank:
                continue
            data = form.cleaned_data
            owner = manager_id if data.get("owner") == "manager" else rep_id
            items.append({"title": data.get("title", ""), "due_on": data.get("due_on"),
                          "owner": owner})  # fmt: skip
            rows.append(index)
        return items, rows

    def add_item_errors(self, item_errors: list, rows: list[int]) -> None:
        """Show session_create's details["action_items"] (one dict per item) on the rows."""
        for errors, index in zip(item_errors, rows, strict=False):
            if not isinstance(errors, dict):
                continue
            form = self.forms[index]
            for field, messages in errors.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    form.add_error(field if field in form.fields else None, str(message))


SessionItemFormSet: type[BaseSessionItemFormSet] = forms.formset_factory(  # type: ignore[assignment]  # the stubs drop the formset= class
    SessionItemForm,
    formset=BaseSessionItemFormSet,
    extra=SESSION_ITEM_ROWS,
    max_num=SESSION_ITEM_ROWS,
    validate_max=True,
    absolute_max=SESSION_ITEM_ROWS,
)


def session_items_formset(data=None, initial=None) -> BaseSessionItemFormSet:
    if data is not None:
        return SessionItemFormSet(data, prefix=SESSION_ITEMS_PREFIX)
    rows = list(initial or [])
    factory: type[BaseSessionItemFormSet] = forms.formset_factory(  # type: ignore[assignment]  # as above
        SessionItemForm, formset=BaseSessionItemFormSet, extra=SESSION_ITEM_ROWS - len(rows),
        max_num=SESSION_ITEM_ROWS,
    )  # fmt: skip
    return factory(initial=rows or None, prefix=SESSION_ITEMS_PREFIX)


class SessionEditForm(forms.Form):
    """The 1:1 page's edit form: notes, practice assignment, focus skills."""

    focus_skill = forms.IntegerField(label="Focus skill", min_value=1, widget=forms.Select)
    second_focus_skill = forms.IntegerField(
        label="Second focus skill", min_value=1, required=False, widget=forms.Select
    )
    notes = forms.CharField(
        required=False, max_length=MAX_SESSION_NOTES, widget=forms.Textarea(attrs={"rows": 6})
    )
    practice_assignment = forms.CharField(
        label="Practice assignment",
        required=False,
        max_length=MAX_PRACTICE,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, skills, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(s.pk, s.name) for s in skills]
        self.fields["focus_skill"].widget.choices = choices
        self.fields["second_focus_skill"].widget.choices = [("", "None"), *choices]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "focus_skill_id": data["focus_skill"],
            "second_focus_skill_id": data.get("second_focus_skill"),
            "notes": data.get("notes", ""),
            "practice_assignment": data.get("practice_assignment", ""),
        }


class SessionActionItemForm(forms.Form):
    """Add one action item on the 1:1's page."""

    title = forms.CharField(label="Action item", max_length=MAX_ACTION_TITLE)
    owner = forms.ChoiceField(label="Owner", choices=OWNER_CHOICES, initial="rep")
    due_on = forms.DateField(label="Due", widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_on"].widget.attrs["min"] = timezone.localdate().isoformat()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def service_fields(self, session) -> dict:
        data = self.cleaned_data
        owner = session.manager_id if data["owner"] == "manager" else session.rep_id
        return {"title": data["title"], "due_on": data["due_on"], "owner_id": owner}


class SessionFilterForm(forms.Form):
    """The 1:1 list's filter (GET). Only a valid rep reaches the selector."""

    rep = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, reps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = [("", "All reps")] + [(p.pk, str(p)) for p in reps]
        self.fields["rep"].widget.attrs["class"] = "form-select form-select-sm"

    def selector_filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {"rep": self.cleaned_data["rep"]} if self.cleaned_data.get("rep") else {}


# --- opportunity reviews ---
# Each form validates shape only; coaching.services says what is allowed (a due date in
# the past, a skill outside the framework, an owner who is not the rep or the manager) and
# its errors land on these fields through add_service_errors.


def _plain(form: forms.Form) -> None:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True  # the template renders {% csrf_token %}
    form.helper = helper  # type: ignore[attr-defined]  # crispy reads a `helper` set on the form


class AgendaItemForm(forms.Form):
    title = forms.CharField(label="Agenda point", max_length=300)
    detail = forms.CharField(
        required=False, max_length=5_000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _plain(self)


class FindingForm(forms.Form):
    text = forms.CharField(
        label="Finding",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the review found about the deal: its strategy, its real state.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _plain(self)


class CoachingPointForm(forms.Form):
    skill = forms.IntegerField(label="Skill", min_value=1, widget=forms.Select)
    text = forms.CharField(
        label="Coaching point",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the rep should do differently next time.",
    )

    def __init__(self, *args, skills, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skill"].widget.choices = [("", "Choose a skill…")] + [
            (s.pk, s.name) for s in skills
        ]
        _plain(self)


class ActionItemForm(forms.Form):
    title = forms.CharField(label="Action item", max_length=300)
    owner = forms.IntegerField(label="Owner", min_value=1, widget=forms.Select, required=False)
    due_on = forms.DateField(label="Due", widget=DATE)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].widget.choices = [(p.pk, label) for p, label in people]
        # The browser refuses past dates too; the service is what decides.
        self.fields["due_on"].widget.attrs["min"] = timezone.localdate().isoformat()
        _plain(self)

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {"title": data["title"], "due_on": data["due_on"], "owner_id": data.get("owner")}
