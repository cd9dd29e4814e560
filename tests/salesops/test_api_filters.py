"""The API's filter backend skips the FilterSet only when it could not filter anything."""

from __future__ import annotations

import django_filters
import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from pipeline.api import OpportunityFilter
from pipeline.models import Opportunity
from salesops.api.filters import DjangoFilterBackend


class RangeFilter(django_filters.FilterSet):
    # Its widget reads `close_after` / `close_before`, never `close` itself.
    close = django_filters.DateFromToRangeFilter(field_name="close_date")

    class Meta:
        model = Opportunity
        fields: list[str] = []


class RequiredFilter(django_filters.FilterSet):
    stage = django_filters.NumberFilter(field_name="stage_id", required=True)

    class Meta:
        model = Opportunity
        fields: list[str] = []


def filtered(filterset: type[django_filters.FilterSet], **params: str):
    view = type("View", (), {"filterset_class": filterset})()
    queryset = Opportunity.objects.all()
    request = Request(APIRequestFactory().get("/", params))
    return queryset, DjangoFilterBackend().filter_queryset(request, queryset, view)


def test_no_filter_named_returns_the_queryset_itself():
    queryset, result = filtered(OpportunityFilter, page="2", page_size="10")
    assert result is queryset  # the FilterSet was not even built


def test_a_named_filter_runs_the_filterset():
    queryset, result = filtered(OpportunityFilter, stage="3")
    assert result is not queryset and "stage_id" in str(result.query)


def test_a_widget_parameter_named_after_its_filter_runs_the_filterset():
    queryset, result = filtered(RangeFilter, close_after="2031-01-01")
    assert result is not queryset and "close_date" in str(result.query)


def test_a_required_filter_is_never_skipped():
    with pytest.raises(ValidationError):
        filtered(RequiredFilter, page="2")
