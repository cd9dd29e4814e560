"""Forms of the account pages (login, API keys). Validation only; rules live in services."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth.forms import AuthenticationForm

from salesops.exceptions import ApplicationError
from salesops.models import ApiScope


def add_service_errors(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's error on `form`: per field where the field exists, else on top."""
    details = exc.details if isinstance(exc.details, dict) else {}
    mapped = False
    for key, messages in details.items():
        if not isinstance(messages, list | tuple) or not all(isinstance(m, str) for m in messages):
            continue  # not field messages (e.g. GateNotMet's list of missing milestones)
        for message in messages:
            if key in form.fields:
                form.add_error(key, message)
            else:
                form.add_error(None, f"{key.replace('_', ' ').capitalize()}: {message}")
            mapped = True
    if not mapped or exc.message != type(exc).default_message:
        form.add_error(None, exc.message)


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Key name",
        help_text="Which system will use it, e.g. “Salesforce sync”.",
    )
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiScope.READ],
        help_text="Write implies read.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
