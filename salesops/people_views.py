"""The people page: who is in the company, their teams and managers, and its CSV export in
the people import's columns. Managers see their teams, leaders and admins everyone; a rep
gets a 403 (salesops.selectors.people_list_for)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from salesops import selectors
from salesops.exceptions import PermissionDenied
from salesops.exports import csv_link_query, people_export
from salesops.http import AuthenticatedRequest
from salesops.models import Role, Team

PAGE_SIZE = 50


class PeopleFilterForm(forms.Form):
    """The people list's filters (GET). Only valid values reach the selector. (Kept with
    its one page rather than in salesops/forms.py.)"""

    search = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, username or email", "type": "search"}),
    )
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All teams"
    )
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *Role.choices])

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = (
                "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def selector_filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        filters = {
            "search": data.get("search") or "",
            "team": data["team"].pk if data.get("team") else None,
            "role": data.get("role") or "",
        }
        return {k: v for k, v in filters.items() if v}


@login_required
@require_GET
def people(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    user = request.user
    form = PeopleFilterForm(request.GET or None, teams=selectors.team_list_for(user))
    try:
        people = selectors.people_list_for(user, form.selector_filters())
    except PermissionDenied as exc:
        raise Forbidden(exc.message) from exc
    if request.GET.get("format") == "csv":
        return people_export(people)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "salesops/people.html",
        {"form": form, "page": page, "csv_query": csv_link_query(request.GET)},
    )
