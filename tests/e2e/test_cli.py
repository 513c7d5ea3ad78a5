"""The `orderchat` command as a user runs it: a clean environment, an empty directory."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProc, launch_serve, wait_ready
from tests.procs import free_port

pytestmark = pytest.mark.e2e


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
    env.update({f"ORDERCHAT_{k.upper()}": v for k, v in values.items()})
    return env


def run(cwd: Path, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderchat", *args],
        cwd=cwd,
        env=clean_env(**values),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """No configuration at all on SQLite; ORDERCHAT_DATABASE_URL alone on PostgreSQL."""
    if backend == "sqlite":
        return {}
    return {"database_url": str(request.getfixturevalue("postgres_db"))}


@pytest.fixture
def bare_server(tmp_path: Path, database: dict[str, str]) -> Iterator[ServerProc]:
    cwd = tmp_path / "empty"
    cwd.mkdir()
    port = free_port()
    env = clean_env(port=str(port), **database)
    server = launch_serve(port, env, cwd, tmp_path / "serve.log")
    try:
        wait_ready(server)
        yield server
    finally:
        # uvicorn re-raises the SIGTERM it handled once shut down: -15 is a clean stop.
        assert server.stop() in (0, -signal.SIGTERM), server.logs()
        assert "Traceback" not in server.logs()


def test_serve_with_no_configuration(
    bare_server: ServerProc, tmp_path: Path, database: dict[str, str]
) -> None:
    cwd = tmp_path / "empty"
    data = cwd / "orderchat-data"
    secret = data / "jwt-secret"
    assert secret.is_file()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700  # the data directory is private
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32
    assert (data / "orderchat.db").is_file() is (not database)
    assert httpx.get(bare_server.url + "/healthz", timeout=5).status_code == 200
    ready = httpx.get(bare_server.url + "/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    # The generated secret is never printed.
    assert secret.read_text().strip() not in bare_server.logs()

    # `token` signs with the generated secret; the server accepts it.
    oid, cust, vend, rider = (str(uuid.uuid4()) for _ in range(4))
    tok = run(cwd, "token", "--sub", cust, "--role", "customer", **database)
    assert tok.returncode == 0, tok.stderr
    customer_token = tok.stdout.strip()
    assert customer_token.count(".") == 2 and "\n" not in customer_token

    # `publish` plays the Order service against it.
    port = str(bare_server.port)
    pub = run(
        cwd,
        "publish",
        "order.accepted",
        "--order-id",
        oid,
        "--customer-id",
        cust,
        "--vendor-id",
        vend,
        port=port,
        **database,
    )
    assert pub.returncode == 0, pub.stderr
    assert '"applied"' in pub.stdout
    pub = run(cwd, "publish", "rider.assigned", "--order-id", oid, "--rider-id", rider, port=port)
    assert pub.returncode == 0 and '"applied"' in pub.stdout, pub.stdout + pub.stderr

    resp = httpx.get(
        f"{bare_server.url}/v1/rooms/{oid}",
        headers={"Authorization": f"Bearer {customer_token}"},
        timeout=5,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["readOnly"] is False
    assert {(p["userId"], p["role"]) for p in body["participants"]} == {
        (cust, "customer"),
        (vend, "vendor"),
        (rider, "rider"),
    }

    pub = run(
        cwd, "publish", "order.delivered", "--order-id", oid, f"--url={bare_server.url}", port="1"
    )
    assert pub.returncode == 0, pub.stdout + pub.stderr
    body = httpx.get(
        f"{bare_server.url}/v1/rooms/{oid}",
        headers={"Authorization": f"Bearer {customer_token}"},
        timeout=5,
    ).json()
    assert body["readOnly"] is True and body["closedReason"] == "delivered"

    # A token for the wrong secret is refused; the server is not using a well-known one.
    other = run(tmp_path, "token", "--sub", cust, "--role", "customer").stdout.strip()
    resp = httpx.get(
        f"{bare_server.url}/v1/rooms/{oid}", headers={"Authorization": f"Bearer {other}"}
    )
    assert resp.status_code == 401


def test_publish_invalid_event_fails(bare_server: ServerProc, tmp_path: Path) -> None:
    cwd = tmp_path / "empty"
    pub = run(
        cwd,
        "publish",
        "order.accepted",
        "--order-id",
        str(uuid.uuid4()),
        port=str(bare_server.port),
    )
    assert pub.returncode != 0
    assert "customerId" in pub.stdout


def test_migrate(tmp_path: Path, database: dict[str, str]) -> None:
    for _ in range(2):  # idempotent
        result = run(tmp_path, "migrate", **database)
        assert result.returncode == 0, result.stderr
    assert ("postgresql" if database else "sqlite") in result.stdout
    if not database:
        assert (tmp_path / "orderchat-data" / "orderchat.db").is_file()


BAD_CONFIG = [
    ("PORT", "abc"),
    ("PORT", "70000"),
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "postgresql://postgres@127.0.0.1:{closed}/nowhere"),
    ("JWT_SECRET", "short"),
    ("LOG_LEVEL", "loud"),
    ("LOG_FORMAT", "xml"),
    ("AUTO_MIGRATE", "maybe"),
    ("MAX_MESSAGE_CHARS", "0"),
    ("REDIS_URL", "http://localhost"),
    ("JWKS_URL", "ftp://idp/keys"),
    ("JWT_PUBLIC_KEY", "not a key"),
    ("JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
    ("CONTACT_DETAILS", "hide"),
    ("PHONE_REGION", "XX"),
]


@pytest.mark.parametrize(("name", "value"), BAD_CONFIG, ids=[f"{n}={v}" for n, v in BAD_CONFIG])
def test_bad_configuration_one_line(tmp_path: Path, name: str, value: str) -> None:
    value = value.replace("{closed}", str(free_port()))
    port = str(free_port())
    values = {"port": port, name.lower(): value}
    result = run(tmp_path, "serve", **values)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"ORDERCHAT_{name}" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert value not in lines[0] or name not in ("JWT_SECRET",)  # a secret is never echoed


def test_listen_address_problems_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run(tmp_path, "serve", port=port)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ORDERCHAT_PORT" in lines[0] and port in lines[0], result.stderr
    result = run(tmp_path, "serve", host="no-such-host.invalid", port=str(free_port()))
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1 and "ORDERCHAT_HOST" in lines[0], result.stderr


def test_publish_without_a_server(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "publish",
        "order.cancelled",
        "--order-id",
        str(uuid.uuid4()),
        port=str(free_port()),
    )
    assert result.returncode != 0
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize("variable", ["DATA_DIR", "DATABASE_URL"])
def test_unusable_local_path_one_line(tmp_path: Path, command: str, variable: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bad = str(blocker / "data")
    value = bad if variable == "DATA_DIR" else f"sqlite:///{bad}/orderchat.db"
    result = run(tmp_path, command, port=str(free_port()), **{variable.lower(): value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"ORDERCHAT_{variable}" in lines[0], result.stderr


def test_generated_secret_readable_by_others_refused(tmp_path: Path) -> None:
    data = tmp_path / "orderchat-data"
    data.mkdir()
    (data / "jwt-secret").write_text("x" * 64)
    (data / "jwt-secret").chmod(0o644)
    result = run(tmp_path, "token", "--sub", str(uuid.uuid4()), "--role", "admin")
    assert result.returncode != 0
    assert "ORDERCHAT_DATA_DIR" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_token_rejects_bad_arguments(tmp_path: Path) -> None:
    assert run(tmp_path, "token", "--sub", "bob", "--role", "customer").returncode != 0
    assert run(tmp_path, "token", "--sub", str(uuid.uuid4()), "--role", "god").returncode != 0


def test_token_carries_issuer_and_audience(tmp_path: Path) -> None:
    import jwt

    secret = "s" * 40
    result = run(
        tmp_path,
        "token",
        "--sub",
        str(uuid.uuid4()).upper(),
        "--role",
        "rider",
        "--ttl",
        "60",
        jwt_secret=secret,
        jwt_issuer="https://idp.example",
        jwt_audience="orderchat",
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(
        result.stdout.strip(),
        secret,
        algorithms=["HS256"],
        audience="orderchat",
        issuer="https://idp.example",
    )
    assert claims["role"] == "rider" and claims["sub"] == claims["sub"].lower()
    assert 55 <= claims["exp"] - claims["iat"] <= 60
