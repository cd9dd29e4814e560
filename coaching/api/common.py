"""What the coaching API's modules share: the `id` path parameter, the largest id a
client may send, and the plain text input field."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
MAX_ID = 2**63 - 1


def text_field(*, required: bool = False) -> serializers.CharField:
    return serializers.CharField(required=required, allow_blank=True, trim_whitespace=False)
