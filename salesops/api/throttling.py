"""Per API key (else per user, else per IP) request limits."""

from __future__ import annotations

import time

from rest_framework.throttling import SimpleRateThrottle

from salesops.cache import CacheUnavailable
from salesops.login_throttle import client_address
from salesops.models import ApiKey


class PerKeyOrUserThrottle(SimpleRateThrottle):
    """One bucket per API key (an integration), else per user, else per IP.

    A fixed-window counter (one Redis INCR a request) instead of DRF's sliding window,
    which reads and writes the list of every request's timestamp in the window — up to
    6,000 entries pickled twice per request at the default rate."""

    scope = "per_key_or_user"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            # The sign-in throttle's rule for who the client is: X-Forwarded-For is believed
            # only past LOGIN_TRUSTED_PROXIES proxies (DRF's get_ident believes it whenever
            # NUM_PROXIES is unset, so a caller could pick their own bucket).
            ident = f"ip:{client_address(request._request) or 'unknown'}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        window_key = f"{key}:{window}"
        self._wait = (window + 1) * self.duration - now
        try:
            count = self.cache.incr(window_key)
        except ValueError:  # the window's first request
            if self.cache.add(window_key, 1, timeout=self.duration + 1):
                count = 1
            else:  # another request created it meanwhile
                try:
                    count = self.cache.incr(window_key)
                except CacheUnavailable:
                    # Redis is down: nothing can be counted. Fail open — the API keeps
                    # serving, unthrottled, until it is back (the cache logs the outage).
                    return True
        return count <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
