"""Identity (SPEC 2): every acceptance and rejection rule of TokenVerifier, keys made here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from orderchat.config import Settings
from orderchat.errors import AuthError, ConfigError
from orderchat.identity import (
    LEEWAY_SECONDS,
    MAX_TOKEN_BYTES,
    JwksKeys,
    TokenVerifier,
    bearer_token,
)

SECRET = "unit-test-secret-" + "s" * 40
SUB = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"  # upper case on purpose


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": SUB, "role": "customer", "iat": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], key: bytes | str = SECRET, **headers: Any) -> str:
    """Sign by hand, so any key (even a PEM) and any header can be used."""
    header = {"alg": "HS256", "typ": "JWT", **headers}
    raw_key = key.encode() if isinstance(key, str) else key
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    sig = hmac.new(raw_key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(sig)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_priv() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def ec_priv() -> ec.EllipticCurvePrivateKey:
    return ec_key()


async def rejected(verifier: TokenVerifier, tok: str) -> str:
    with pytest.raises(AuthError) as info:
        await verifier.verify(tok)
    return info.value.message


HS = TokenVerifier(hs256_secret=SECRET)


# --- HS256 --------------------------------------------------------------------------


async def test_hs256_accepted_and_sub_canonical() -> None:
    principal = await HS.verify(hs256(claims(role="rider")))
    assert principal.user_id == SUB.lower()
    assert principal.role == "rider"
    assert principal.expires_at > time.time()


@pytest.mark.parametrize("role", ["customer", "vendor", "rider", "admin", "service"])
async def test_every_role_accepted(role: str) -> None:
    assert (await HS.verify(hs256(claims(role=role)))).role == role


async def test_alg_none_rejected() -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims()).encode())
    for tok in (f"{header}.{body}.", f"{header}.{body}"):
        await rejected(HS, tok)


async def test_wrong_signature_rejected() -> None:
    await rejected(HS, hs256(claims(), key="another-secret-" + "z" * 40))
    good = hs256(claims())
    head, _body, sig = good.split(".")
    tampered_body = _b64(json.dumps(claims(role="admin")).encode())
    await rejected(HS, f"{head}.{tampered_body}.{sig}")


async def test_expired_rejected_beyond_leeway_only() -> None:
    now = int(time.time())
    assert "expired" in await rejected(HS, hs256(claims(exp=now - LEEWAY_SECONDS - 5)))
    # Within the 30 s leeway the token still counts.
    await HS.verify(hs256(claims(exp=now - 5)))


async def test_nbf_in_future_rejected_beyond_leeway() -> None:
    now = int(time.time())
    assert "not yet valid" in await rejected(HS, hs256(claims(nbf=now + LEEWAY_SECONDS + 60)))
    await HS.verify(hs256(claims(nbf=now + 10)))


@pytest.mark.parametrize("missing", ["exp", "sub", "role"])
async def test_missing_claim_rejected(missing: str) -> None:
    payload = claims()
    del payload[missing]
    assert missing in await rejected(HS, hs256(payload))


@pytest.mark.parametrize("role", ["superuser", "Admin", "", None, 3])
async def test_unknown_role_rejected(role: object) -> None:
    payload = claims()
    payload["role"] = role
    await rejected(HS, hs256(payload))


@pytest.mark.parametrize("sub", ["alice", "1234", "", "3f2504e0-4f89-11d3-9a0c"])
async def test_sub_not_uuid_rejected(sub: str) -> None:
    await rejected(HS, hs256(claims(sub=sub)))


async def test_token_over_8_kib_rejected() -> None:
    big = hs256(claims(pad="p" * MAX_TOKEN_BYTES))
    assert len(big) > MAX_TOKEN_BYTES
    assert "too large" in await rejected(HS, big)
    # A token just under the limit is fine: the limit is on size, not on content.
    filler = "p" * ((MAX_TOKEN_BYTES - len(hs256(claims(pad="")))) * 3 // 4 - 16)
    small = hs256(claims(pad=filler))
    assert len(small) <= MAX_TOKEN_BYTES
    await HS.verify(small)


@pytest.mark.parametrize("tok", ["", "abc", "a.b.c", "....", "Bearer x"])
async def test_garbage_rejected(tok: str) -> None:
    await rejected(HS, tok)


async def test_issuer_and_audience_enforced_when_configured() -> None:
    verifier = TokenVerifier(hs256_secret=SECRET, issuer="https://idp", audience="orderchat")
    await verifier.verify(hs256(claims(iss="https://idp", aud="orderchat")))
    await verifier.verify(hs256(claims(iss="https://idp", aud=["other", "orderchat"])))
    assert "issuer" in await rejected(verifier, hs256(claims(iss="https://evil", aud="orderchat")))
    assert "audience" in await rejected(verifier, hs256(claims(iss="https://idp", aud="other")))
    await rejected(verifier, hs256(claims(aud="orderchat")))  # iss missing
    await rejected(verifier, hs256(claims(iss="https://idp")))  # aud missing


async def test_issuer_and_audience_ignored_when_not_configured() -> None:
    await HS.verify(hs256(claims(iss="anyone", aud="anything")))


async def test_hs256_off_when_no_secret(rsa_priv: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(public_key_pem=public_pem(rsa_priv))
    await rejected(verifier, hs256(claims()))


# --- RS256 / ES256 with a configured public key ---------------------------------------


async def test_rs256_with_public_key(rsa_priv: rsa.RSAPrivateKey) -> None:
    verifier = TokenVerifier(public_key_pem=public_pem(rsa_priv))
    principal = await verifier.verify(jwt.encode(claims(role="vendor"), rsa_priv, "RS256"))
    assert principal.role == "vendor" and principal.user_id == SUB.lower()
    await rejected(verifier, jwt.encode(claims(), rsa_key(), "RS256"))  # another key
    await rejected(verifier, jwt.encode(claims(), ec_key(), "ES256"))  # alg not configured
    await rejected(verifier, jwt.encode(claims(exp=int(time.time()) - 100), rsa_priv, "RS256"))


async def test_es256_with_public_key(ec_priv: ec.EllipticCurvePrivateKey) -> None:
    verifier = TokenVerifier(public_key_pem=public_pem(ec_priv))
    assert (await verifier.verify(jwt.encode(claims(), ec_priv, "ES256"))).role == "customer"
    await rejected(verifier, jwt.encode(claims(), ec_key(), "ES256"))
    await rejected(verifier, jwt.encode(claims(), rsa_key(), "RS256"))


async def test_hs256_signed_with_the_public_key_pem_rejected(
    rsa_priv: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    pem = public_pem(rsa_priv)
    forged = [hs256(claims(role="admin"), key=pem), hs256(claims(role="admin"), key=pem.strip())]
    only_key = TokenVerifier(public_key_pem=pem)
    # Even with an HS256 secret configured too, the PEM is never used as an HMAC key.
    both = TokenVerifier.from_settings(
        Settings(data_dir=tmp_path, jwt_secret=SECRET, jwt_public_key=pem)
    )
    for verifier in (only_key, both):
        for tok in forged:
            await rejected(verifier, tok)
    assert (await both.verify(hs256(claims()))).role == "customer"
    assert (await both.verify(jwt.encode(claims(), rsa_priv, "RS256"))).role == "customer"


async def test_public_key_setting_makes_hs256_off_unless_secret(
    rsa_priv: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    verifier = TokenVerifier.from_settings(
        Settings(data_dir=tmp_path, jwt_public_key=public_pem(rsa_priv))
    )
    await rejected(verifier, hs256(claims()))
    assert not (tmp_path / "jwt-secret").exists()  # nothing generated in that case


def test_bad_public_key_is_a_config_error() -> None:
    bogus = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    with pytest.raises(ConfigError, match="ORDERCHAT_JWT_PUBLIC_KEY"):
        TokenVerifier(public_key_pem=bogus)


async def test_jku_x5u_jwk_headers_ignored(rsa_priv: rsa.RSAPrivateKey) -> None:
    attacker = rsa_key()
    attacker_jwk = json.loads(RSAAlgorithm.to_jwk(attacker.public_key()))
    verifier = TokenVerifier(public_key_pem=public_pem(rsa_priv))
    for headers in (
        {"jwk": attacker_jwk},
        {"jku": "http://127.0.0.1:1/jwks.json"},
        {"x5u": "http://127.0.0.1:1/cert.pem"},
    ):
        forged = jwt.encode(claims(role="admin"), attacker, "RS256", headers=headers)
        await rejected(verifier, forged)
        # The same headers on a properly signed token change nothing either.
        ok = jwt.encode(claims(), rsa_priv, "RS256", headers=headers)
        assert (await verifier.verify(ok)).role == "customer"


# --- JWKS -----------------------------------------------------------------------------


class JwksServer:
    """A real HTTP server on a free port serving a mutable JWKS and counting requests."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> None:
        if isinstance(key, rsa.RSAPrivateKey):
            entry = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            entry["alg"] = "RS256"
        else:
            entry = json.loads(ECAlgorithm.to_jwk(key.public_key()))
            entry["alg"] = "ES256"
        entry["kid"] = kid
        entry["use"] = "sig"
        self.keys.append(entry)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_jwks_known_kid_and_refetch_throttle(
    jwks_server: JwksServer, rsa_priv: rsa.RSAPrivateKey, ec_priv: ec.EllipticCurvePrivateKey
) -> None:
    jwks_server.add(rsa_priv, "k1")
    jwks_server.add(ec_priv, "k-ec")
    clock = FakeClock()
    verifier = TokenVerifier(jwks=JwksKeys(jwks_server.url, clock=clock))

    tok = jwt.encode(claims(), rsa_priv, "RS256", headers={"kid": "k1"})
    assert (await verifier.verify(tok)).user_id == SUB.lower()
    ec_tok = jwt.encode(claims(role="rider"), ec_priv, "ES256", headers={"kid": "k-ec"})
    assert (await verifier.verify(ec_tok)).role == "rider"
    assert jwks_server.requests == 1  # fetched once, then cached
    for _ in range(3):
        await verifier.verify(tok)
    assert jwks_server.requests == 1

    # Past the throttle window, an unknown kid triggers exactly one refetch...
    clock.now += 31
    unknown = jwt.encode(claims(), rsa_key(), "RS256", headers={"kid": "nope-1"})
    assert "unknown" in await rejected(verifier, unknown)
    assert jwks_server.requests == 2
    # ...and a second unknown kid within 30 s triggers none.
    clock.now += 10
    other = jwt.encode(claims(), rsa_key(), "RS256", headers={"kid": "nope-2"})
    await rejected(verifier, other)
    await rejected(verifier, unknown)
    assert jwks_server.requests == 2

    # A rotated-in key is picked up at the next allowed refetch.
    rotated = rsa_key()
    jwks_server.add(rotated, "k2")
    new_tok = jwt.encode(claims(role="admin"), rotated, "RS256", headers={"kid": "k2"})
    await rejected(verifier, new_tok)  # still throttled
    assert jwks_server.requests == 2
    clock.now += 21
    assert (await verifier.verify(new_tok)).role == "admin"
    assert jwks_server.requests == 3
    assert (await verifier.verify(tok)).role == "customer"  # the old key kept
    assert jwks_server.requests == 3


async def test_jwks_rejections(jwks_server: JwksServer, rsa_priv: rsa.RSAPrivateKey) -> None:
    jwks_server.add(rsa_priv, "k1")
    clock = FakeClock()
    verifier = TokenVerifier(jwks=JwksKeys(jwks_server.url, clock=clock))
    # No kid at all.
    assert "kid" in await rejected(verifier, jwt.encode(claims(), rsa_priv, "RS256"))
    # Known kid, wrong key.
    await rejected(verifier, jwt.encode(claims(), rsa_key(), "RS256", headers={"kid": "k1"}))
    # Known RSA kid but the token claims ES256.
    await rejected(verifier, jwt.encode(claims(), ec_key(), "ES256", headers={"kid": "k1"}))
    # HS256 signed with the JWK's public material: HS256 is simply not accepted.
    await rejected(verifier, hs256(claims(), key=public_pem(rsa_priv), kid="k1"))
    # alg none with a known kid.
    header = _b64(json.dumps({"alg": "none", "kid": "k1"}).encode())
    await rejected(verifier, f"{header}.{_b64(json.dumps(claims()).encode())}.")


async def test_jwks_embedded_jwk_and_jku_ignored(
    jwks_server: JwksServer, rsa_priv: rsa.RSAPrivateKey
) -> None:
    jwks_server.add(rsa_priv, "k1")
    attacker_server = JwksServer()
    try:
        attacker = rsa_key()
        attacker_server.add(attacker, "k1")
        attacker_jwk = json.loads(RSAAlgorithm.to_jwk(attacker.public_key()))
        verifier = TokenVerifier(jwks=JwksKeys(jwks_server.url, clock=FakeClock()))
        forged = jwt.encode(
            claims(role="admin"),
            attacker,
            "RS256",
            headers={"kid": "k1", "jwk": attacker_jwk, "jku": attacker_server.url},
        )
        await rejected(verifier, forged)
        assert attacker_server.requests == 0
        good = jwt.encode(claims(), rsa_priv, "RS256", headers={"kid": "k1"})
        assert (await verifier.verify(good)).role == "customer"
    finally:
        attacker_server.close()


async def test_jwks_endpoint_down_rejects_and_keeps_throttle(rsa_priv: rsa.RSAPrivateKey) -> None:
    server = JwksServer()
    url = server.url
    server.close()  # nothing listens there any more
    clock = FakeClock()
    keys = JwksKeys(url, clock=clock)
    verifier = TokenVerifier(jwks=keys)
    tok = jwt.encode(claims(), rsa_priv, "RS256", headers={"kid": "k1"})
    await rejected(verifier, tok)
    await rejected(verifier, tok)
    assert keys.fetches == 1


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token(None) is None
    assert bearer_token("") is None
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None


def test_token_subject_id_kept_canonical() -> None:
    # A UUID object or any case compares equal in canonical form.
    from orderchat.identity import canonical_uuid

    u = uuid.uuid4()
    assert canonical_uuid(u) == str(u)
    assert canonical_uuid(str(u).upper()) == str(u)
    with pytest.raises(ValueError):
        canonical_uuid(123)


async def test_jwks_and_public_key_together(
    jwks_server: JwksServer, rsa_priv: rsa.RSAPrivateKey
) -> None:
    idp_key = rsa_key()
    jwks_server.add(idp_key, "idp-1")
    verifier = TokenVerifier(
        public_key_pem=public_pem(rsa_priv), jwks=JwksKeys(jwks_server.url, clock=FakeClock())
    )
    from_jwks = jwt.encode(claims(role="vendor"), idp_key, "RS256", headers={"kid": "idp-1"})
    assert (await verifier.verify(from_jwks)).role == "vendor"
    from_pem = jwt.encode(claims(role="rider"), rsa_priv, "RS256", headers={"kid": "other"})
    assert (await verifier.verify(from_pem)).role == "rider"
    assert (await verifier.verify(jwt.encode(claims(), rsa_priv, "RS256"))).role == "customer"
    # The JWKS key id does not let another key through, nor the PEM key sign as it.
    await rejected(verifier, jwt.encode(claims(), rsa_key(), "RS256", headers={"kid": "idp-1"}))
    await rejected(verifier, jwt.encode(claims(), rsa_key(), "RS256", headers={"kid": "x"}))
