"""Forms of the account and setup pages (login, API keys, the organisation, the first
administrator). Validation only; rules live in services (the sign-in limits in
salesops.login_throttle)."""

from __future__ import annotations

import calendar

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from salesops import login_throttle, organisation
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


class ThrottledSignInMixin:
    """For a sign-in form (ours, Django admin's): every attempt goes through
    salesops.login_throttle — counted before the password is checked, refused while the
    account or the address is locked (the lock's message, not the usual one), failures and
    sign-ins recorded. `retry_after`: the seconds left of a lock that refused it."""

    sign_in_via = "page"
    retry_after: int | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # a missing field: the field's own error, nothing tried
        try:
            attempt = login_throttle.attempt_begin(
                username=username, address=login_throttle.client_address(self.request)
            )
        except login_throttle.SignInLocked as exc:
            raise self._locked(exc) from None
        try:
            cleaned = super().clean()
        except ValidationError:
            try:
                login_throttle.attempt_failed(attempt)
            except login_throttle.SignInLocked as exc:
                raise self._locked(exc) from None
            raise
        login_throttle.attempt_succeeded(attempt, user=self.get_user(), via=self.sign_in_via)
        return cleaned

    def _locked(self, exc: login_throttle.SignInLocked) -> ValidationError:
        self.retry_after = exc.wait_seconds
        return ValidationError(exc.message, code=exc.code)


class AdminLoginForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """/admin/login/ (salesops.admin sets it on the admin site): the same limits."""

    sign_in_via = "admin"


class LoginForm(ThrottledSignInMixin, AuthenticationForm):
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


# --- setup: the organisation and the first administrator ----------------------------------

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]


class OrganisationForm(forms.Form):
    """The organisation's settings (salesops.services.organisation_update validates them
    again and says what is wrong, field by field)."""

    name = forms.CharField(
        max_length=120,
        label="Company name",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    default_currency = forms.CharField(
        min_length=3,
        max_length=3,
        label="Default currency",
        help_text="ISO 4217 code, e.g. EUR, USD, GBP. Forecast figures are reported in it; "
        "deals and quotas in other currencies are left out, never converted.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}),
    )
    fiscal_year_start_month = forms.TypedChoiceField(
        choices=MONTHS,
        coerce=int,
        label="Fiscal year starts in",
        help_text="A fiscal year is named by the year it ends in: with April, FY2027 runs "
        "from April 2026 to March 2027.",
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Days, weeks, periods and the scheduled jobs follow it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            (name, name.replace("_", " ")) for name in sorted(organisation.available_time_zones())
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_default_currency(self) -> str:
        return self.cleaned_data["default_currency"].strip().upper()


class FirstAdminForm(forms.Form):
    """The first administrator of an empty install. The two passwords must match here; the
    service checks the rest (username rules, email, the password validators)."""

    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
        help_text="Letters, digits and @ . + - _ only.",
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_again = forms.CharField(
        label="Password (again)",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean(self):
        cleaned = super().clean()
        first, again = cleaned.get("password"), cleaned.get("password_again")
        if first and again and first != again:
            self.add_error("password_again", "The two passwords differ.")
        return cleaned
