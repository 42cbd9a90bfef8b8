"""Accounts, argon2 password hashes, signed session cookies and CSRF tokens.

The session cookie is signed (itsdangerous) and carries the key of a session row (user, CSRF token,
expiry) that logout and a password change delete; every unsafe request (POST, PATCH, PUT, DELETE) must
send the session's CSRF token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field.
Cookies are ``HttpOnly`` and ``SameSite=Lax``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

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


@cache
def _dummy_hash() -> str:
    """A hash to check unknown accounts against (made on first sign-in, not when the CLI starts)."""
    return _hasher.hash("mot de passe factice pour égaliser les temps")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account costs the same time as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
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
    """Signs and reads the session cookie, which carries the key of a server-side session.

    The signature (``secret`` from settings, random when none is configured) turns away forged cookies
    without a database read; the session itself lives in the database, so logout ends it.
    """

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="accesoins-registres-session")

    def sign(self, session_key: str) -> str:
        """Cookie value for a session key."""
        return self._serializer.dumps({"k": session_key})

    def read(self, cookie: str | None) -> str | None:
        """The session key of a well-signed, unexpired cookie, else None."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("k"), str):
            return None
        return str(data["k"])


def new_session_secrets() -> tuple[str, str]:
    """A random session key (kept in the cookie, stored hashed) and a CSRF token."""
    return secrets.token_urlsafe(32), secrets.token_urlsafe(24)


def digest(session_key: str) -> str:
    """SHA-256 of a session key: a stolen database copy holds no usable cookie."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


def account_key(email: str) -> str:
    """The throttle's key of an account (case and surrounding spaces ignored)."""
    return email.strip().lower()[:254]
