"""What the pipeline pages share: the status of a re-rendered form with errors, whether
the user sees others' deals, and every error message of a form."""

from __future__ import annotations

# Re-rendered forms with errors answer 422; base.html tells htmx to swap 422 responses.
INVALID = 422


def sees_others(user) -> bool:
    return not user.is_rep


def form_messages(form, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Every error of a bound `form` (None: none), hidden fields' included, so a refusal
    is never silent. A hidden field's message says which field it is about."""
    if form is None or not form.is_bound:
        return []
    messages_ = []
    for name, errors in form.errors.items():
        if name in skip:
            continue
        field = form.fields.get(name)
        hidden = field is not None and field.widget.is_hidden
        label = (field.label or name.replace("_", " ").capitalize()) if hidden else ""
        messages_ += [f"{label}: {e}" if label else e for e in errors]
    return messages_
