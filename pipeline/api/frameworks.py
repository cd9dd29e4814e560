"""Qualification frameworks and their elements (/api/v1/frameworks/,
/api/v1/framework-elements/): everyone reads, administrators and sales leaders write."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api.common import SET_AT_CREATION, FrameworkViewSet
from pipeline.models import QualificationElement, QualificationFramework
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import IdFilter, get_or_404, valid
from salesops.cleaning import MAX_SMALL_INT


class FrameworkElementInlineOutput(serializers.ModelSerializer):
    class Meta:
        model = QualificationElement
        fields = ["id", "name", "guidance", "weight", "order"]
        read_only_fields = fields


class QualificationFrameworkOutput(serializers.ModelSerializer):
    elements = FrameworkElementInlineOutput(many=True, read_only=True, help_text="In order.")

    class Meta:
        model = QualificationFramework
        fields = ["id", "name", "description", "is_active", "elements"]
        read_only_fields = fields


class FrameworkElementOutput(serializers.ModelSerializer):
    framework = serializers.IntegerField(source="framework_id")

    class Meta:
        model = QualificationElement
        fields = ["id", "framework", "name", "guidance", "weight", "order"]
        read_only_fields = fields


class QualificationFrameworkInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "elements": "Add and change elements at /api/v1/framework-elements/.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class FrameworkElementUpdateInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "framework": SET_AT_CREATION}
    name = serializers.CharField(required=False, allow_blank=True)
    guidance = serializers.CharField(required=False, allow_blank=True)
    weight = serializers.IntegerField(required=False, min_value=1, max_value=100)
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SMALL_INT)


class FrameworkElementCreateInput(FrameworkElementUpdateInput):
    read_only_hints = {"id": "It is assigned by the server."}
    framework = serializers.PrimaryKeyRelatedField(queryset=QualificationFramework.objects.all())
    name = serializers.CharField(allow_blank=True)


class FrameworkElementFilter(django_filters.FilterSet):
    framework = IdFilter(field_name="framework_id")

    class Meta:
        model = QualificationElement
        fields: list[str] = []


# --- qualification frameworks: everyone reads, administrators and sales leaders write --


@extend_schema(tags=["qualification"])
class QualificationFrameworkViewSet(FrameworkViewSet):
    queryset = QualificationFramework.objects.none()  # for the schema; reads use selectors
    input_serializers = {
        "create": QualificationFrameworkInput,
        "partial_update": QualificationFrameworkInput,
    }
    filter_backends: list[Any] = []

    @extend_schema(responses={200: QualificationFrameworkOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        frameworks = selectors.qualification_framework_list()
        return self.paginated(frameworks, QualificationFrameworkOutput)

    @extend_schema(responses={200: QualificationFrameworkOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data)

    @extend_schema(
        request=QualificationFrameworkInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: QualificationFrameworkOutput, **errors(400, 403, 422)},
        description="Administrators and sales leaders only. Add its elements at "
        "/api/v1/framework-elements/.",
    )
    def create(self, request: Request) -> Response:
        data = valid(QualificationFrameworkInput, request)
        framework = services.framework_create(actor=request.user, name=data.pop("name", ""), **data)
        framework = get_or_404(selectors.qualification_framework_list(), framework.pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data, 201)

    @extend_schema(
        request=QualificationFrameworkInput,
        responses={200: QualificationFrameworkOutput, **errors(400, 403, 404)},
        description="Administrators and sales leaders only.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        data = valid(QualificationFrameworkInput, request, partial=True)
        services.framework_update(framework_id=framework.pk, actor=request.user, **data)
        framework = get_or_404(selectors.qualification_framework_list(), pk)
        return Response(QualificationFrameworkOutput(framework, context=self.ctx()).data)


@extend_schema(tags=["qualification"])
class FrameworkElementViewSet(FrameworkViewSet):
    queryset = QualificationElement.objects.none()  # for the schema; reads use selectors
    input_serializers = {
        "create": FrameworkElementCreateInput,
        "partial_update": FrameworkElementUpdateInput,
    }
    filterset_class = FrameworkElementFilter

    @extend_schema(responses={200: FrameworkElementOutput(many=True), **errors(404)})
    def list(self, request: Request) -> Response:
        elements = self.filter_queryset(selectors.qualification_element_list())
        return self.paginated(elements, FrameworkElementOutput)

    @extend_schema(responses={200: FrameworkElementOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        return Response(FrameworkElementOutput(element).data)

    @extend_schema(
        request=FrameworkElementCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: FrameworkElementOutput, **errors(400, 403, 422)},
        description="Administrators and sales leaders only. Without `order` the element goes last.",
    )
    def create(self, request: Request) -> Response:
        data = valid(FrameworkElementCreateInput, request)
        element = services.element_create(
            actor=request.user, framework=data.pop("framework"), name=data.pop("name", ""),
            **data,
        )  # fmt: skip
        return Response(FrameworkElementOutput(element).data, status=201)

    @extend_schema(
        request=FrameworkElementUpdateInput,
        responses={200: FrameworkElementOutput, **errors(400, 403, 404)},
        description="Administrators and sales leaders only.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        data = valid(FrameworkElementUpdateInput, request)
        element = services.element_update(element_id=element.pk, actor=request.user, **data)
        return Response(FrameworkElementOutput(element).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators and sales leaders only. Refused (409 `element_in_use`) "
        "once qualifications scored the element or a milestone requires a level of it.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        element = get_or_404(selectors.qualification_element_list(), pk)
        services.element_delete(element_id=element.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
