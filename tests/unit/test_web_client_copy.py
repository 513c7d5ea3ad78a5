"""The web pages load the JavaScript client from /shared/client/: a byte copy of
clients/js/src made by `npm run sync-web` (one implementation of the protocol)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "clients" / "js" / "src"
COPY = ROOT / "src" / "orderchat" / "web" / "shared" / "client"


def test_the_web_copy_of_the_client_is_byte_identical() -> None:
    source = sorted(p.name for p in SOURCE.glob("*.js"))
    assert "client.js" in source
    assert sorted(p.name for p in COPY.glob("*.js")) == source, "run: npm run sync-web"
    for name in source:
        assert (COPY / name).read_bytes() == (SOURCE / name).read_bytes(), (
            f"{name} differs: run npm run sync-web in clients/js"
        )


def test_the_pages_have_no_protocol_code_of_their_own() -> None:
    web = ROOT / "src" / "orderchat" / "web"
    for page in ("shared/common.js", "app/app.js", "app/timeline.js", "admin/admin.js"):
        text = (web / page).read_text()
        assert "new WebSocket" not in text, page
        assert "lastSeq=" not in text, page
