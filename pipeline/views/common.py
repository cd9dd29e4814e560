"""What the pipeline pages share: the status of a re-rendered form with errors, whether
the user sees others' deals, and every error message of a form."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django import forms

    from salesops.models import User

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


def sees_others(user: User) -> bool:
    return not user.is_rep


def form_messages(form: forms.BaseForm | None, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Every error of a bound `form` (None: none), hidden fields' included, so a refusal
    is never silent. A hidden field's message says which field it is about."""
    if form is None or not form.is_bound:
        return []
    messages_: list[str] = []
    for name, errors in form.errors.items():
        if name in skip:
            continue
        field = form.fields.get(name)
        hidden = field is not None and field.widget.is_hidden
        label = (
            (field.label or name.replace("_", " ").capitalize())
            if field is not None and hidden
            else ""
        )
        messages_ += [f"{label}: {e}" if label else e for e in errors]  # type: ignore[misc]  # an ErrorList yields its messages as str; the stubs say ValidationError | str
    return messages_
