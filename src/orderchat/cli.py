"""The `orderchat` command: serve | migrate | token | publish | bench | demo."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import uuid
from collections.abc import Sequence

from orderchat import __version__
from orderchat.config import Settings, hs256_secret, load_settings
from orderchat.domain.events import EVENT_TYPES
from orderchat.errors import ConfigError
from orderchat.identity import ROLES, canonical_uuid, issue_token
from orderchat.preflight import migrate, prepare_local_state


def _uuid_arg(value: str) -> str:
    try:
        return canonical_uuid(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {value!r}") from None


def _ttl_arg(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderchat", description=__doc__)
    parser.add_argument("--version", action="version", version=f"orderchat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (applies migrations first)")
    sub.add_parser("migrate", help="apply pending schema migrations and exit")

    tok = sub.add_parser("token", help="print a development token signed with the HS256 secret")
    tok.add_argument("--sub", type=_uuid_arg, required=True, help="the user's id (UUID)")
    tok.add_argument("--role", choices=sorted(ROLES), required=True)
    tok.add_argument("--ttl", type=_ttl_arg, default=3600, help="seconds until it expires (> 0)")

    pub = sub.add_parser("publish", help="post one order event, playing the Order service")
    pub.add_argument("event_type", metavar="eventType", help="one of: " + ", ".join(EVENT_TYPES))
    pub.add_argument(
        "--any-type", action="store_true", help="send an eventType not in that list anyway"
    )
    pub.add_argument("--order-id", type=_uuid_arg, required=True)
    pub.add_argument("--customer-id", type=_uuid_arg)
    pub.add_argument("--vendor-id", type=_uuid_arg)
    pub.add_argument("--rider-id", type=_uuid_arg)
    pub.add_argument("--reason")
    pub.add_argument("--delivered-at", help="RFC 3339 time (default: now)")
    pub.add_argument("--url", help="service base URL (default: http://HOST:PORT)")

    from orderchat.bench import cli as bench_cli
    from orderchat.demo import cli as demo_cli

    bench_cli.add_arguments(
        sub.add_parser("bench", help="measure latency, throughput and memory under load")
    )
    demo_cli.add_arguments(
        sub.add_parser("demo", help="play a whole order with three simulated clients")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "publish" and args.event_type not in EVENT_TYPES and not args.any_type:
        parser.error(  # exits 2, like any other bad argument
            f"unknown eventType {args.event_type!r} (one of: {', '.join(EVENT_TYPES)}; "
            "--any-type sends it anyway)"
        )
    try:
        settings = load_settings()
        if args.command == "serve":
            from orderchat.server import serve

            prepare_local_state(settings)
            _check_listen_address(settings)
            return serve(settings)
        if args.command == "migrate":
            prepare_local_state(settings)
            print(f"orderchat: schema up to date ({migrate(settings)})")
            return 0
        if args.command == "token":
            print(_token(settings, args.sub, args.role, args.ttl))
            return 0
        if args.command == "publish":
            return _publish(settings, args)
        if args.command == "bench":
            from orderchat.bench import cli as bench_cli

            try:
                return bench_cli.run(settings, args)
            except ImportError as missing:  # an install without the extra (picows)
                if "orderchat[bench]" not in missing.msg:
                    raise
                print(f"orderchat: {missing.msg}", file=sys.stderr)
                return 1
        if args.command == "demo":
            from orderchat.demo import cli as demo_cli

            return demo_cli.run(settings, args)
    except ConfigError as err:
        print(f"orderchat: configuration error: {err.message}", file=sys.stderr)
        return 1
    return 2


def _check_listen_address(settings: Settings) -> None:
    """Fail at start, naming the variable, when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"ORDERCHAT_HOST: cannot resolve {settings.host!r}: {exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            variable = "ORDERCHAT_PORT" if exc.errno == errno.EADDRINUSE else "ORDERCHAT_HOST"
            raise ConfigError(
                f"{variable}: cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from None


def _token(settings: Settings, sub: str, role: str, ttl: int) -> str:
    secret = hs256_secret(settings)
    if secret is None:
        raise ConfigError("ORDERCHAT_JWT_SECRET: needed to sign tokens when a public key is set")
    return issue_token(
        secret,
        sub=sub,
        role=role,
        ttl_seconds=ttl,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def _publish(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from orderchat.domain.messages import rfc3339_ms, utcnow_ms

    body: dict[str, object] = {"eventType": args.event_type, "orderId": args.order_id}
    for key, value in (
        ("customerId", args.customer_id),
        ("vendorId", args.vendor_id),
        ("riderId", args.rider_id),
        ("reason", args.reason),
    ):
        if value is not None:
            body[key] = value
    if args.event_type == "order.delivered":
        body["deliveredAt"] = args.delivered_at or rfc3339_ms(utcnow_ms())
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = (args.url or f"http://{host}:{settings.port}").rstrip("/") + "/v1/events"
    token = _token(settings, str(uuid.uuid4()), "service", 300)
    try:
        resp = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError as err:
        print(f"orderchat: cannot reach {url}: {err}", file=sys.stderr)
        return 1
    print(resp.text)
    return 0 if resp.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
