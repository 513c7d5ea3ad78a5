"""A started server configured with an RS256/ES256 public key, or with a JWKS URL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, auth
from tests.e2e.conftest import StartServer
from tests.unit.test_identity import JwksServer, ec_key, hs256, public_pem, rsa_key

pytestmark = pytest.mark.e2e


def claims(role: str, sub: str | None = None, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub or str(uuid.uuid4()), "role": role, "exp": now + 300, **extra}


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def publish_and_read(url: str, service_tok: str, reader: Any) -> tuple[int, int]:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    body = {"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend}
    posted = httpx.post(url + "/v1/events", json=body, headers=auth(service_tok))
    read = httpx.get(f"{url}/v1/rooms/{oid}", headers=auth(reader(cust)))
    return posted.status_code, read.status_code


def test_public_key_server(start_server: StartServer) -> None:
    key = ec_key()
    server = start_server(jwt_public_key=public_pem(key), jwt_secret="", jwt_issuer="https://idp")
    svc = jwt.encode(claims("service", iss="https://idp"), key, "ES256")
    ok = publish_and_read(
        server.url,
        svc,
        lambda cust: jwt.encode(claims("customer", cust, iss="https://idp"), key, "ES256"),
    )
    assert ok == (200, 200)
    # HS256 is off (no secret configured), even signed with the configured key's PEM.
    forged = hs256(claims("service", iss="https://idp"), key=public_pem(key))
    assert publish_and_read(server.url, forged, lambda _c: forged) == (401, 401)
    plain = hs256(claims("service", iss="https://idp"), key=TEST_SECRET)
    assert publish_and_read(server.url, plain, lambda _c: plain) == (401, 401)
    # Wrong issuer.
    wrong = jwt.encode(claims("service", iss="https://evil"), key, "ES256")
    assert publish_and_read(server.url, wrong, lambda _c: wrong)[0] == 401


def test_jwks_server(start_server: StartServer, jwks: JwksServer) -> None:
    key = rsa_key()
    jwks.add(key, "k1")
    server = start_server(jwks_url=jwks.url, jwt_secret="", jwt_audience="orderchat")

    def tok(role: str, sub: str | None = None, kid: str = "k1", signer: Any = key) -> str:
        return jwt.encode(claims(role, sub, aud="orderchat"), signer, "RS256", headers={"kid": kid})

    assert publish_and_read(server.url, tok("service"), lambda c: tok("customer", c)) == (200, 200)
    before = jwks.requests
    assert before == 1
    # Unknown kids: at most one refetch within 30 s, however many tokens present them.
    stranger = rsa_key()
    for i in range(5):
        bad = tok("service", kid=f"unknown-{i}", signer=stranger)
        assert publish_and_read(server.url, bad, lambda _c, b=bad: b) == (401, 401)  # type: ignore[misc]
    assert jwks.requests - before <= 1
