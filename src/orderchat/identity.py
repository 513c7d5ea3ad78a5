"""JWT → Principal (SPEC section 2). No web imports: the edges translate AuthError."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import httpx
import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from orderchat.config import Settings, hs256_secret
from orderchat.errors import AuthError, ConfigError

Role = Literal["customer", "vendor", "rider", "admin", "service"]
ROLES: frozenset[str] = frozenset(get_args(Role))
PARTICIPANT_ROLES: frozenset[str] = frozenset({"customer", "vendor", "rider"})

MAX_TOKEN_BYTES = 8 * 1024
LEEWAY_SECONDS = 30
JWKS_REFETCH_SECONDS = 30.0
ASYMMETRIC_ALGS = ("RS256", "ES256")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str  # canonical lower-case UUID
    role: Role
    expires_at: float  # unix seconds

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def canonical_uuid(value: object) -> str:
    """Canonical lower-case form of a UUID; ValueError if it is not one."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("not a UUID")
    return str(uuid.UUID(value))


class JwksKeys:
    """Keys of a JWKS endpoint; an unknown ``kid`` refetches at most once per 30 s.

    Hand-written around PyJWT's PyJWK because PyJWKClient is synchronous (urllib) and
    would block the event loop; this uses httpx's async client instead.
    """

    def __init__(
        self,
        url: str,
        *,
        refetch_seconds: float = JWKS_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._refetch_seconds = refetch_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def _fetch(self) -> None:
        self._last_fetch = self._clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                resp = await client.get(self._url)
                resp.raise_for_status()
                data = resp.json()
        except (httpx.HTTPError, ValueError):
            return  # keep the keys we had; the next unknown kid may retry after the throttle
        keys: dict[str, jwt.PyJWK] = {}
        for entry in data.get("keys", []) if isinstance(data, dict) else []:
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue
            if key.key_id and key.algorithm_name in ASYMMETRIC_ALGS:
                keys[key.key_id] = key
        self._keys = keys

    async def get(self, kid: str) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is None and self._clock() - self._last_fetch >= self._refetch_seconds:
                await self._fetch()
                key = self._keys.get(kid)
        return key


class TokenVerifier:
    """Verifies tokens with the algorithms the configuration allows, never the token's choice."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        public_key_pem: str | None = None,
        jwks: JwksKeys | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._secret = hs256_secret
        self._public_keys: dict[str, Any] = {}
        if public_key_pem is not None:
            pem = public_key_pem.encode()
            try:
                self._public_keys["RS256"] = RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(pem)
            except (jwt.PyJWTError, ValueError, TypeError):
                try:
                    self._public_keys["ES256"] = ECAlgorithm(ECAlgorithm.SHA256).prepare_key(pem)
                except (jwt.PyJWTError, ValueError, TypeError):
                    raise ConfigError(
                        "ORDERCHAT_JWT_PUBLIC_KEY: not an RSA or EC (P-256) public key"
                    ) from None
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(
            hs256_secret=hs256_secret(settings),
            public_key_pem=settings.jwt_public_key,
            jwks=JwksKeys(settings.jwks_url) if settings.jwks_url else None,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        alg = header.get("alg")
        if alg == "HS256" and self._secret is not None:
            return self._secret, alg
        if alg in ASYMMETRIC_ALGS:
            kid = header.get("kid")
            if self._jwks is not None and isinstance(kid, str) and kid:
                key = await self._jwks.get(kid)
                if key is not None and key.algorithm_name == alg:
                    return key.key, alg
                if alg not in self._public_keys:
                    raise AuthError(
                        "unknown signing key" if key is None else "algorithm does not match the key"
                    )
            # With both a PEM and a JWKS configured, a kid the JWKS lacks falls back to the PEM.
            if alg in self._public_keys:
                return self._public_keys[alg], alg
            if self._jwks is not None:
                raise AuthError("token has no key id (kid)")
        raise AuthError("token algorithm not accepted")

    async def verify(self, token: str) -> Principal:
        if not token:
            raise AuthError("missing token")
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise AuthError("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        key, alg = await self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "sub", "role"],
                    "verify_aud": self._audience is not None,
                    "verify_iss": self._issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim} claim") from None
        except jwt.InvalidIssuerError:
            raise AuthError("wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise AuthError("wrong audience") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    # isinstance first: an identity provider's list of roles is unhashable (was a 500)
    if not isinstance(role, str) or role not in ROLES:
        raise AuthError("unknown role")
    try:
        user_id = canonical_uuid(claims.get("sub"))
    except ValueError:
        raise AuthError("sub is not a UUID") from None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise AuthError("exp is not a number")
    try:
        expires_at = float(exp)
    except OverflowError:  # an int beyond any float (10**400)
        raise AuthError("exp is out of range") from None
    return Principal(user_id=user_id, role=cast(Role, role), expires_at=expires_at)


def issue_token(
    secret: str,
    *,
    sub: str,
    role: str,
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token for development and tests (`orderchat token`)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_seconds}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
