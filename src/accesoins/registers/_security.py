"""Accounts, argon2 password hashes, signed session cookies and CSRF tokens.

The session cookie is signed (itsdangerous) and carries the user id and a random CSRF token; every
unsafe request (POST, PATCH, PUT, DELETE) must send the same token in the ``X-CSRF-Token`` header or
the ``csrf_token`` form field. Cookies are ``HttpOnly`` and ``SameSite=Lax``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "accesoins_registres"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_S = 8 * 3600
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_S = 15 * 60
STAFF = frozenset({"agent", "administrateur"})
PROJECT_READERS = frozenset({"agent", "administrateur", "partenaire"})
ADMIN = frozenset({"administrateur"})

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("mot de passe factice pour égaliser les temps")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account costs the same time as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or an anonymous resident (``role='public'``, ``user_id=None``)."""

    user_id: int | None
    email: str
    role: str
    csrf: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


ANONYMOUS = Actor(None, "", "public")
SYSTEM = Actor(None, "système (ligne de commande)", "administrateur")


class SessionSigner:
    """Signs and reads the session cookie (``secret`` from settings; random when none is configured)."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="accesoins-registres-session")

    def issue(self, user_id: int) -> tuple[str, str]:
        """New cookie value and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return self._serializer.dumps({"u": user_id, "c": csrf}), csrf

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), int)
            or not isinstance(data.get("c"), str)
        ):
            return None
        return data


def same_token(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


class LoginThrottle:
    """At most ``attempts`` failed sign-ins per account within ``window_s`` seconds (in memory)."""

    def __init__(self, *, attempts: int = LOGIN_ATTEMPTS, window_s: float = LOGIN_WINDOW_S) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key.strip().lower(), deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.attempts

    def failed(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key.strip().lower(), None)
