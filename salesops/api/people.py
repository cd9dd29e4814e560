"""/api/v1/people/: the people a manager, leader or admin may list, and their CSV export in
the import's columns (salesops/columns.py PEOPLE_COLUMNS). Read-only: people are created
in the admin or by the people import."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from salesops import selectors
from salesops.api.schema import errors
from salesops.api.viewsets import MAX_ID, ApiViewSet, CsvExportViewSet
from salesops.exports import people_export
from salesops.models import Role, User


class TeamRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonOutput(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", help_text="First and last name.")
    team = TeamRefOutput(allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "team", "started_on", "is_active"]
        read_only_fields = fields


class PeopleQuery(serializers.Serializer):
    team = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Sub-teams included."
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="In the name, username or email.",
    )


def _people(request: Request) -> Any:
    query = PeopleQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    return selectors.people_list_for(request.user, dict(query.validated_data))


_WHO = (
    "Leaders and administrators: everyone; a manager: themselves and the members of their "
    "teams, sub-teams included; a rep: 403."
)


@extend_schema(tags=["people"])
class PeopleViewSet(ApiViewSet):
    queryset = User.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[PeopleQuery],
        responses={200: PersonOutput(many=True), **errors(403, 404)},
        description=f"People, by username. {_WHO}",
    )
    def list(self, request: Request) -> Response:
        return self.paginated(_people(request), PersonOutput)


@extend_schema(tags=["people"])
class PeopleExportViewSet(CsvExportViewSet):
    queryset = User.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="people_export_csv",
        parameters=[PeopleQuery],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The people of the list with the same filters, every one of them, "
                "as a CSV file (UTF-8 with a byte-order mark) in the people import's columns.",
            ),
            **errors(403, 404),
        },
        description=_WHO,
    )
    def list(self, request: Request) -> Any:
        return people_export(_people(request))
