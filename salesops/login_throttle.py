"""The one rule for failed sign-ins: counters per account and per client address, the lock
they set, and the record of failures, lockouts and sign-ins (log lines, audit events).

Used by every way in with a password — the sign-in page and Django's admin share one form
mixin (salesops.forms.ThrottledSignInMixin) — and, per address only, by the API key
authentication for wrong keys.

Why the cache (Redis in production) and not the database: every web process sees the same
counters, an INCR is atomic (parallel guesses cannot slip past the limit between a read and
a write), it costs no row or index per username an attacker types, and stale counters
expire on their own, with no purge job. Losing them (a Redis restart) only forgives some
failures early, which is acceptable for a throttle.

The rule:
- An attempt is counted *before* its password is checked: of a burst of parallel guesses,
  only the first LOGIN_MAX_FAILURES reach the password check.
- Failures are counted over a window of LOGIN_LOCK_MINUTES (a sliding estimate from two
  fixed windows: the current window's count plus the previous window's share still in
  range). When an account's (the username as typed, case-insensitively) or an address's
  count reaches its limit, it is locked for LOGIN_LOCK_MINUTES; while locked every attempt
  is refused without checking the password, even the right one.
- Unknown usernames are counted and locked exactly like real ones, with the same messages:
  nothing tells whether an account exists.
- A successful sign-in resets its account's counter and takes back its own count from the
  address (successful sign-ins never lock an office out), but does not reset the address's
  failures — else a guesser with one valid account could reset their address at will.
- Locks expire on their own; the lock's end is stored as a timestamp compared with the
  clock, and the cache entry's own expiry only clears it away.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from salesops.cache import CacheUnavailable
from salesops.exceptions import ApplicationError
from salesops.models import User
from salesops.services import audit_record

logger = logging.getLogger(__name__)

KEY_PREFIX = "signin"
# IPv6 clients usually hold a whole /64: counting single addresses would let one of them
# make 2**64 fresh starts.
IPV6_CLIENT_PREFIX = 64


def lock_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    return (
        f"Too many failed sign-ins. Try again in about {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )


class SignInLocked(ApplicationError):
    """Too many failures for the account or the address: refused until the lock ends. The
    message is the same whether or not the account exists."""

    status = 429
    code = "too_many_failures"

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = max(1, math.ceil(wait_seconds))
        super().__init__(
            lock_message(self.wait_seconds),
            details={"retry_after_seconds": self.wait_seconds},
        )


# --- the client's address ------------------------------------------------------------------


def client_address(request: HttpRequest | None) -> str | None:
    """The address failures are counted for: the connection's, or — behind
    LOGIN_TRUSTED_PROXIES proxies — the one the outermost trusted proxy saw (the entries
    left of it in X-Forwarded-For are the client's to write). An IPv6 client counts by its
    /64 network."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.LOGIN_TRUSTED_PROXIES
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        # Fewer hops than proxies: the request did not come through them all; only the
        # connection's address is known to be true.
        if len(hops) >= proxies:
            address = hops[-proxies]
    return _network(address)


def _network(address: str) -> str | None:
    address = address.strip()
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]  # not an IP (a test client, a misconfigured proxy): as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


# --- counters and locks --------------------------------------------------------------------


@dataclass(frozen=True)
class _Bucket:
    """One thing failures are counted for: an account (`account`), an address signing in
    with a password (`address`), an address presenting API keys (`api_key_address`)."""

    scope: str
    ident: str
    limit: int

    @property
    def base(self) -> str:
        # Hashed: a typed username may be long or hold anything; the key stays short.
        digest = hashlib.sha256(self.ident.encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}:{self.scope}:{digest}"

    @property
    def lock_key(self) -> str:
        return f"{self.base}:lock"

    def counter_key(self, window_index: int) -> str:
        return f"{self.base}:{window_index}"


def _window_seconds() -> int:
    return settings.LOGIN_LOCK_MINUTES * 60


def _now() -> float:
    return time.time()


def _account_ident(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _password_buckets(username: str, address: str | None) -> list[_Bucket]:
    buckets = []
    if settings.LOGIN_MAX_FAILURES:
        buckets.append(_Bucket("account", _account_ident(username), settings.LOGIN_MAX_FAILURES))
    if address and settings.LOGIN_MAX_FAILURES_PER_ADDRESS:
        buckets.append(_Bucket("address", address, settings.LOGIN_MAX_FAILURES_PER_ADDRESS))
    return buckets


def _locked_for(buckets: list[_Bucket], now: float) -> int | None:
    """Seconds until the last of these buckets' locks ends; None when none is locked."""
    if not buckets:
        return None
    ends = cache.get_many([b.lock_key for b in buckets]).values()
    remaining = [until - now for until in ends if isinstance(until, int | float) and until > now]
    return math.ceil(max(remaining)) if remaining else None


def _incr(key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first count
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return cache.incr(key)  # another request created it meanwhile
        except CacheUnavailable:  # Redis is down: count nothing, fail open (README)
            return 0


def _count(bucket: _Bucket, now: float) -> tuple[str, float]:
    """Count one attempt; returns the counter key and the failures in the last window."""
    window = _window_seconds()
    index = int(now // window)
    key = bucket.counter_key(index)
    # The previous window's count is read during the whole next window.
    current = _incr(key, timeout=2 * window + 60)
    previous = cache.get(bucket.counter_key(index - 1)) or 0
    still_in_range = 1 - (now - index * window) / window
    # Rounded up: a failure is never forgotten early.
    return key, current + math.ceil(previous * still_in_range)


def _uncount(key: str) -> None:
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
        cache.decr(key)


def _forget(bucket: _Bucket, now: float) -> None:
    index = int(now // _window_seconds())
    cache.delete_many([bucket.counter_key(index), bucket.counter_key(index - 1)])


def _lock(bucket: _Bucket, now: float, *, username: str, address: str | None) -> None:
    """Lock the bucket for LOGIN_LOCK_MINUTES (once: concurrent lockers keep the first
    lock) and start its count afresh for when the lock ends."""
    window = _window_seconds()
    if not cache.add(bucket.lock_key, now + window, timeout=window + 60):
        current = cache.get(bucket.lock_key)
        if isinstance(current, int | float) and current > now:
            return
        # An ended lock whose cache entry has not expired yet (it outlives the lock by a
        # minute): this is a new lock.
        cache.set(bucket.lock_key, now + window, timeout=window + 60)
    _forget(bucket, now)
    logger.warning(
        "Sign-in locked for %s minutes: too many failures for the %s (username %r, address %s)",
        settings.LOGIN_LOCK_MINUTES,
        bucket.scope.replace("_", " "),
        username[:150],
        address,
    )
    audit_record(
        actor=None,
        action="sign_in.locked",
        data={
            "scope": bucket.scope,
            "username": username[:150],
            "address": address,
            "minutes": settings.LOGIN_LOCK_MINUTES,
        },
    )


# --- a sign-in with a password -------------------------------------------------------------


@dataclass
class Attempt:
    """A sign-in under way: what it was counted for, to settle once the password is
    checked (attempt_failed or attempt_succeeded)."""

    username: str
    address: str | None
    counted: dict[_Bucket, tuple[str, float]] = field(default_factory=dict)


def attempt_begin(*, username: str, address: str | None) -> Attempt:
    """Count an attempt to sign in as `username` (as typed) from `address`, before its
    password is checked. Refuses (SignInLocked, with the time left) when the account or the
    address is locked, or when this attempt is one too many (parallel guesses)."""
    now = _now()
    buckets = _password_buckets(username, address)
    if (wait := _locked_for(buckets, now)) is not None:
        logger.info(
            "Sign-in refused while locked (username %r, address %s)", username[:150], address
        )
        raise SignInLocked(wait)
    counted = {bucket: _count(bucket, now) for bucket in buckets}
    over = [bucket for bucket, (_, failures) in counted.items() if failures > bucket.limit]
    if over:
        for bucket in over:
            _lock(bucket, now, username=username, address=address)
        for bucket, (key, _) in counted.items():
            if bucket not in over:
                _uncount(key)  # never checked: not a failure of the other bucket
        raise SignInLocked(_locked_for(over, now) or _window_seconds())
    return Attempt(username=username, address=address, counted=counted)


def attempt_failed(attempt: Attempt) -> None:
    """The password was wrong (or the account unknown or inactive: the same to the
    caller). Logged; locks what reached its limit and then refuses with SignInLocked."""
    now = _now()
    logger.warning("Failed sign-in for %r from %s", attempt.username[:150], attempt.address)
    reached = [b for b, (_, failures) in attempt.counted.items() if failures >= b.limit]
    for bucket in reached:
        _lock(bucket, now, username=attempt.username, address=attempt.address)
    if reached:
        raise SignInLocked(_locked_for(reached, now) or _window_seconds())


def attempt_succeeded(attempt: Attempt, *, user: User, via: str) -> None:
    """The password was right: the account's failures are forgotten, the address's count
    of this attempt taken back; logged and audited (`via`: "page" or "admin")."""
    now = _now()
    for bucket, (key, _) in attempt.counted.items():
        if bucket.scope == "account":
            _forget(bucket, now)  # its current and previous window: this attempt's key too
        else:
            _uncount(key)
    logger.info(
        "Sign-in of %r (user %s) from %s via %s", user.username, user.pk, attempt.address, via
    )
    audit_record(
        actor=user,
        action="sign_in.succeeded",
        target=user,
        data={"address": attempt.address, "via": via},
    )


# --- API keys: per address -----------------------------------------------------------------


def api_key_failed(*, address: str | None) -> None:
    """A wrong (unknown or revoked) API key came from `address`. Refuses with SignInLocked
    (the API answers 429) while the address is locked or when this failure locks it.

    Checked only once a key failed, not before every call: keys are 256 random bits (no
    guess succeeds, lock or not), so the lock is about floods and noise — and it must not
    refuse the valid keys of the other integrations behind the same address (an office's
    NAT) because one of them kept a revoked key."""
    limit = settings.LOGIN_MAX_FAILURES_PER_ADDRESS
    if not address or not limit:
        return
    now = _now()
    bucket = _Bucket("api_key_address", address, limit)
    if (wait := _locked_for([bucket], now)) is not None:
        raise SignInLocked(wait)
    _, failures = _count(bucket, now)
    logger.warning("Wrong API key from %s", address)
    if failures >= limit:
        _lock(bucket, now, username="", address=address)
        raise SignInLocked(_locked_for([bucket], now) or _window_seconds())
