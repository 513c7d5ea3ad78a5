"""The objects a request handler may need, built once by ``create_app``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from orderchat.config import Settings
from orderchat.events.service import EventService
from orderchat.identity import TokenVerifier
from orderchat.metrics import Metrics
from orderchat.store import Store

ReadinessCheck = Callable[[], Awaitable[None]]


@dataclass
class Services:
    settings: Settings
    store: Store
    verifier: TokenVerifier
    metrics: Metrics
    events: EventService
    # name -> check raising on failure; /readyz runs them all (database, redis, sqs...).
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    # Optional components wired by create_app (the realtime hub, the SQS consumer...).
    extras: dict[str, Any] = field(default_factory=dict)
