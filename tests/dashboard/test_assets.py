"""Solara's front-end files: the installer's command line, and the page shown while they are missing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from sim.dashboard import assets
from sim.dashboard.server import with_assets_check

ROOT = Path(__file__).resolve().parents[2]


def test_help_prints_usage_and_downloads_nothing(monkeypatch, capsys):
    def no_fetch(*args, **kwargs):
        raise AssertionError("--help must not download anything")

    monkeypatch.setattr(assets, "fetch", no_fetch)
    with pytest.raises(SystemExit) as exit_:
        assets.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m sim.dashboard.assets") and "npm" in out and "--check" in out


def test_help_from_the_command_line():
    done = subprocess.run([sys.executable, "-m", "sim.dashboard.assets", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "usage:" in done.stdout


def test_check_reports_missing_packages_without_fetching(monkeypatch, capsys):
    monkeypatch.setattr(assets, "missing_packages", lambda: ["requirejs@2.3.6"])
    monkeypatch.setattr(assets, "fetch", lambda *a, **k: pytest.fail("--check must not download"))
    assert assets.main(["--check"]) == 1
    assert "requirejs@2.3.6" in capsys.readouterr().out


def test_ensure_without_npm_reports_what_is_missing(monkeypatch):
    monkeypatch.setattr(assets, "missing_packages", lambda: ["requirejs@2.3.6"])
    assert assets.ensure(npm="no-such-npm-here") == ["requirejs@2.3.6"]


def _get(app, path: str) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "path": path, "method": "GET", "headers": []}, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def _solara(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"solara page"})


def test_the_page_names_the_fix_command_while_files_are_missing():
    status, body = _get(with_assets_check(_solara, missing=lambda: ["requirejs@2.3.6"]), "/")
    text = body.decode()
    assert status == 503 and assets.FIX_COMMAND in text and "requirejs@2.3.6" in text and "<html" in text


def test_the_page_is_the_dashboard_once_the_files_are_there():
    assert _get(with_assets_check(_solara, missing=lambda: []), "/") == (200, b"solara page")
    # Other paths (scripts, websockets) are never intercepted.
    assert _get(with_assets_check(_solara, missing=lambda: ["x"]), "/_solara/cdn/x.js") == (200, b"solara page")


def test_front_end_files_come_with_the_installed_project():
    """Solara is pinned to the release solara-assets ships files for: nothing to fetch after ``pip install``."""
    import solara_assets  # noqa: F401  (a dependency of the project)

    assert assets.required_packages(), "the Solara page template names no front-end package"
    assert assets.missing_packages() == []
