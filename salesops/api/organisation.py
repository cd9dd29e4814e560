"""/api/v1/organisation/: the organisation's settings — read by anyone signed in, changed
by administrators through the same service as the setup page (organisation_update)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from salesops import organisation
from salesops.api.schema import errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, valid
from salesops.models import Organisation
from salesops.services import organisation_update


class OrganisationOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The company's name; empty until first saved.")
    default_currency = serializers.CharField(
        help_text="ISO 4217 code the forecast figures are reported in."
    )
    fiscal_year_start_month = serializers.IntegerField(
        help_text="1 (January) to 12 (December); a fiscal year is named by the year it ends in."
    )
    time_zone = serializers.CharField(help_text="IANA name, e.g. Europe/Berlin.")


class OrganisationInput(StrictInputSerializer):
    # Loose here on purpose: the service checks every value and says what is wrong.
    name = serializers.CharField(required=False, allow_blank=True, max_length=500)
    default_currency = serializers.CharField(required=False, allow_blank=True, max_length=50)
    fiscal_year_start_month = serializers.IntegerField(required=False)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=200)


_CALENDAR = (
    "Changing `fiscal_year_start_month` or `time_zone` changes which period and day past "
    "figures fall into (they are computed again at once); calls, meetings and snapshots "
    "keep the period and week they were made for."
)


@extend_schema(tags=["organisation"])
class OrganisationViewSet(ApiViewSet):
    queryset = Organisation.objects.none()  # the model for the schema; reads use the accessor
    filter_backends: list[Any] = []

    @extend_schema(
        responses={200: OrganisationOutput, **errors(403)},
        description="The organisation's settings (the install's defaults until an "
        "administrator saves them). Anyone signed in.",
    )
    def retrieve(self, request: Request) -> Response:
        return Response(OrganisationOutput(organisation.current()).data)

    @extend_schema(
        request=OrganisationInput,
        responses={200: OrganisationOutput, **errors(403)},
        description=f"Change any of the settings (administrators; write scope). {_CALENDAR}",
    )
    def partial_update(self, request: Request) -> Response:
        data = valid(OrganisationInput, request)
        values = organisation_update(actor=request.user, **data)
        return Response(OrganisationOutput(values).data)
