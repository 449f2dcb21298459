"""Fixtures for the real-browser tests (marker ``browser``): headless Chromium driven by
Playwright, against JupyterLab 4 (the notebooks) and ``augkit explore`` (Voila).

They need the system's Chromium (``apt-get install chromium``; Playwright's own browser
download does not work offline) and the ``browser`` extra (``pip install -e ".[browser]"``).
Without them the tests skip, unless ``AUGKIT_BROWSER=required`` (CI sets it): then a
missing browser fails the run. ``AUGKIT_BROWSER=off`` skips them on purpose.

Screenshots of every widget after its controls were moved are kept in
``$AUGKIT_BROWSER_SHOTS`` (default ``runs/browser-shots/``), one folder per test.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from servers import ROOT, free_port, start_server, stop_server

MODE_ENV = "AUGKIT_BROWSER"  # "required" (CI), "off", or unset: run if available, else skip
SHOTS_ENV = "AUGKIT_BROWSER_SHOTS"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _mode() -> str:
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode not in ("", "required", "off"):
        raise pytest.UsageError(f"{MODE_ENV}={mode!r}: use 'required', 'off' or leave it unset")
    return mode


def chromium_path() -> str | None:
    """``$AUGKIT_CHROMIUM`` when set (the only candidate then), else the system's Chromium."""
    if os.environ.get("AUGKIT_CHROMIUM"):
        return os.environ["AUGKIT_CHROMIUM"] if Path(os.environ["AUGKIT_CHROMIUM"]).is_file() else None
    for candidate in (shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _unavailable(why: str):
    if _mode() == "required":
        pytest.fail(f"{why} and {MODE_ENV}=required", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser():
    if _mode() == "off":
        pytest.skip(f"{MODE_ENV}=off")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable('Playwright is not installed (pip install -e ".[browser]")')
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium found (apt-get install chromium, or set AUGKIT_CHROMIUM)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that can reach 127.0.0.1 only: the kit must render offline.
    ``page.blocked`` lists what it tried to fetch from elsewhere."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.blocked = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
            r.continue_()
        else:
            page.blocked.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    yield page
    context.close()


@pytest.fixture(scope="session")
def shots_root():
    folder = Path(os.environ.get(SHOTS_ENV) or ROOT / "runs" / "browser-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shots(shots_root, request):
    folder = shots_root / request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _env():
    env = dict(os.environ)
    env["AUGKIT_QUICK"] = "1"
    if env.get("AUGKIT_DATA_DIR"):
        env["AUGKIT_DATA_DIR"] = str(Path(env["AUGKIT_DATA_DIR"]).resolve())
    return env


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    """JupyterLab 4 on copies of the notebooks (the browser saves what it runs), in quick mode,
    with every cell rendered (JupyterLab renders only the cells in view by default)."""
    work = tmp_path_factory.mktemp("lab")
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, work)
    settings = work / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = _env()
    env["JUPYTERLAB_SETTINGS_DIR"] = str(work / ".settings")
    port = free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
               "--LabApp.expose_app_in_browser=True",
               f"--ServerApp.root_dir={work}"]
    url = f"http://127.0.0.1:{port}"
    process = start_server(command, f"{url}/lab", work / "lab.log", env=env)
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def explore_app(browser, tmp_path_factory):
    """``augkit explore`` exactly as a user starts it, on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("explore") / "explore.log"
    command = [sys.executable, "-m", "augkit.cli", "explore", "--no-browser", f"--port={port}"]
    process = start_server(command, f"http://127.0.0.1:{port}/", log, env=_env(), cwd=ROOT)
    yield f"http://127.0.0.1:{port}"
    stop_server(process)
