"""Refuse oversized API bodies before anything reads them, with the API's error shape."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

IMPORT_UPLOADS = "/api/v1/imports/"


class ApiBodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            # An upload of a CRM export may be larger than any other body.
            limit = (
                settings.IMPORT_MAX_FILE_BYTES + 64 * 1024
                if request.path.startswith(IMPORT_UPLOADS)
                else settings.API_MAX_BODY_BYTES
            )
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(
                    {
                        "code": "body_too_large",
                        "message": f"The request body is {length} bytes; the limit is {limit}.",
                        "details": {"limit": limit, "size": length},
                    },
                    status=413,
                )
        return self.get_response(request)
