"""Browser tests: Playwright driving Debian's Chromium against a real `orderchat serve`.

One browser for the folder; each test gets fresh contexts (one per user, like separate
devices). Every page fails its test if a JavaScript dialog opens (an XSS would) or a
page error is thrown. Screenshots go to test-artifacts/screenshots/ at the repo root.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Browser, Dialog, Page, Playwright, expect, sync_playwright

from tests.conftest import _recreate_pg, _truncate, pg_url
from tests.e2e.conftest import server, start_server  # noqa: F401  (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# the machine is shared and slow at times: wait longer than Playwright's 5 s default
expect.set_options(timeout=20_000)


def _run_aside(coro: Coroutine[object, object, None]) -> None:
    """asyncio.run on a thread of its own: Playwright's sync API keeps an event loop
    running on the main thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


# postgres_db and db_url of tests/conftest.py, with their database work moved off the
# main thread (same databases, same recreate/truncate functions).
@pytest.fixture(scope="session")
def postgres_db() -> str:
    url = pg_url()
    try:
        _run_aside(_recreate_pg(url))
    except (OSError, asyncpg.PostgresError) as err:
        pytest.fail(f"PostgreSQL at {url} is needed for the postgresql tests: {err}")
    return url


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'orderchat.db'}"
    url: str = request.getfixturevalue("postgres_db")
    _run_aside(_truncate(url))
    return url


@dataclass
class Watched:
    """A page and what it did: dialogs opened, errors thrown, URLs it requested."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


# package scope, not session: Playwright's loop must stop before the other folders'
# tests, whose fixtures call asyncio.run on the main thread
@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is needed for the browser tests: apt-get install chromium")
    b = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


NewPage = Callable[[dict[str, int]], Watched]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """new_page(viewport) -> a page in a context of its own (its own sessionStorage)."""
    watched: list[Watched] = []
    contexts = []

    def make(viewport: dict[str, int]) -> Watched:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        w = Watched(page)

        def on_dialog(dialog: Dialog) -> None:
            w.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda err: w.errors.append(str(err)))
        page.on("request", lambda req: w.urls.append(req.url))
        page.on("websocket", lambda ws: w.urls.append(ws.url))
        watched.append(w)
        return w

    yield make
    for context in contexts:
        context.close()
    for w in watched:
        assert w.dialogs == [], f"a dialog opened: {w.dialogs}"
        assert w.errors == [], f"the page threw: {w.errors}"


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """shoot(page, name) -> test-artifacts/screenshots/<name>-<backend>.png (the viewport)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    backend = getattr(request.node, "callspec", None)
    suffix = f"-{backend.params['backend']}" if backend and "backend" in backend.params else ""

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}{suffix}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 0
        return path

    return take
