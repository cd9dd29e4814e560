"""`Authorization: Bearer <key>` authentication with hashed, scoped API keys."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from salesops import audit_context, login_throttle
from salesops.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Bearer <key>'."
            )
        key = api_key_authenticate(parts[1])
        if key is None:
            # Wrong keys are limited per address (salesops.login_throttle.api_key_failed).
            try:
                login_throttle.api_key_failed(address=login_throttle.client_address(request))
            except login_throttle.SignInLocked as exc:
                throttled = exceptions.Throttled(detail=exc.message)
                throttled.wait = exc.wait_seconds  # Retry-After, without DRF's extra sentence
                raise throttled from None
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        audit_context.use_api_key(key.pk)  # the request's audit events name the key
        return key.user, key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "salesops.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key created under Settings → API keys.",
        }
