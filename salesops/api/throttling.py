from rest_framework.throttling import SimpleRateThrottle

from salesops.models import ApiKey


class PerKeyOrUserThrottle(SimpleRateThrottle):
    """One bucket per API key (an integration), else per user, else per IP."""

    scope = "per_key_or_user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
