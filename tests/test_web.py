"""``--web``: the city and county apps served by textual-serve, driven in a real headless browser.

Debian's chromium through Playwright for Python (Playwright's own browser download is not reachable here);
``.ci/run`` installs chromium when it is missing. The browser shows the app as pixels, so the test waits for
the states the app writes to ``STVS_STATE_FILE`` (never for a time) before each key it sends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from city_server import mobile_conflict, running_city_server
from sync_fixtures import free_port, sync

from schema.models import Volunteer
from stvs_tui.queries import record_resolution
from stvs_tui.web import is_loopback

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = Path(__file__).resolve().parent.parent / ".pytest-tmp" / "artefacts"

needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None = None,
             limit: int = 3000) -> None:
    """Poll ``condition`` until it holds; ``limit`` polls (0.05 s apart) only bound a broken run, and a served
    process that has exited fails at once with its output."""
    import time

    for _ in range(limit):
        if condition():
            return
        if process is not None and process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"the served app exited ({process.returncode}) while waiting for {what}:\n{out[-3000:]}")
        time.sleep(0.05)
    seen = f"; the app reported: {states(STATE)}" if STATE else ""
    pytest.fail(f"never reached: {what}{seen}")


@contextmanager
def served(arguments: list[str], home: Path, state: Path) -> Iterator[str]:
    """``stvs-tui <arguments> --web`` on a free loopback port; yields its URL once it answers."""
    port = free_port()
    env = {**os.environ, "STVS_STATE_FILE": str(state), "STVS_DATA_DIR": str(home), "STVS_LANG": "zh"}
    env.pop("STVS_ADMIN_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "stvs_tui", *arguments, "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, f"{url} to answer", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


STATE: Path | None = None


def states(state: Path) -> list[str]:
    return state.read_text(encoding="utf-8").splitlines() if state.exists() else []


@contextmanager
def browser_page() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    # Chromium puts its singleton socket in TMPDIR, and a socket path may not pass 107 bytes: pytest-xdist's
    # per-worker temp folders are deeper than that, so the browser gets a short folder of its own.
    short = tempfile.mkdtemp(prefix="stvs-chromium-", dir="/tmp" if os.path.isdir("/tmp") else None)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"],
                                             env={**os.environ, "TMPDIR": short})
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            yield page
        finally:
            browser.close()
            shutil.rmtree(short, ignore_errors=True)


def test_only_loopback_is_quiet() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "192.168.1.20", "kx.anyang.example", "::"))


def test_serving_beyond_loopback_warns(tmp_path) -> None:
    """``--host 0.0.0.0`` still serves, with a warning to put a TLS reverse proxy in front."""
    env = {**os.environ, "STVS_DATA_DIR": str(tmp_path / "home")}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "stvs_tui", "city", "--web", "--host", "0.0.0.0",
                                "--port", str(port), "--server", "http://127.0.0.1:9"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}"), "the page", process)
    finally:
        process.terminate()
        out = process.communicate(timeout=30)[0].decode()
    assert "TLS" in out and "0.0.0.0" in out


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def focus_is(state: Path, line: str, after: int) -> bool:
    """The focus, as last reported after line ``after`` of the state file, is ``line`` (``focus ConfirmModal
    #no``): a key sent now reaches that widget. The last report, not any: focus may land twice on a new screen."""
    moves = [seen for seen in states(state)[after:] if seen.startswith("focus ")]
    return bool(moves) and moves[-1] == line


@needs_browser
def test_city_admin_in_a_browser_signs_in_resolves_a_conflict_and_the_device_pulls_it(tmp_path) -> None:
    """The admin opens the page, types the token on the first screen (it is in no URL), decides the one open
    conflict for the county's side with a reason; the county device's next sync holds that decision."""
    with running_city_server(tmp_path / "city") as city:
        conflict = mobile_conflict(city, tmp_path / "stores")
        second, token, row_id = conflict.second, conflict.token, conflict.row_id

        global STATE
        state = STATE = tmp_path / "state.txt"
        with served(["city", "--web", "--server", city.url], tmp_path / "home", state) as url, \
                browser_page() as page:
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url)
            wait_for(lambda: focus_is(state, "focus SignInScreen #token", 0), "the sign-in screen, token box focused")
            page.wait_for_selector("body.-first-byte")
            page.focus(".xterm-helper-textarea")  # keys go to the terminal, as after a click on it
            page.keyboard.type(city.admin_token)
            page.keyboard.press("Enter")
            wait_for(lambda: "city.loaded queue=1 uploads=3" in states(state), "the queue with the conflict")
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            page.screenshot(path=str(ARTEFACTS / "web-city-queue-zh.png"))
            seen = len(states(state))
            page.keyboard.press("Control+k")  # decide the highlighted item for the county's side
            wait_for(lambda: focus_is(state, "focus ReasonModal #reason", seen), "the reason box, focused")
            page.keyboard.type("电话回访核实")
            seen = len(states(state))
            page.keyboard.press("Enter")
            wait_for(lambda: focus_is(state, "focus ConfirmModal #no", seen), "the confirmation, on 否")
            seen = len(states(state))
            page.keyboard.press("ArrowLeft")  # 否 is preselected: move to 是
            wait_for(lambda: focus_is(state, "focus ConfirmModal #yes", seen), "the confirmation, on 是")
            page.keyboard.press("Enter")
            wait_for(lambda: "city.loaded queue=0 uploads=3" in states(state), "the queue emptied")
        assert requested and not any(city.admin_token in address for address in requested)

        summary = sync(second, city, token)
        assert summary.resolutions == 1
        with second.session() as session:
            assert session.get(Volunteer, row_id).mobile == "13900000002"
            note = record_resolution(session, "volunteer", row_id)
        assert note is not None and note.reason == "电话回访核实"
    saved = (tmp_path / "home").rglob("*")
    assert not any(city.admin_token.encode() in path.read_bytes() for path in saved if path.is_file())


@needs_browser
def test_county_app_in_a_browser_draws_its_first_screen(tmp_path) -> None:
    """``stvs-tui --demo --web``: the demo store is filled once by the serving command, and each page gets the
    county app on it, drawn down to the dashboard's teams."""
    state = tmp_path / "state.txt"
    with served(["--demo", "--web"], tmp_path / "home", state) as url, browser_page() as page:
        page.goto(url)
        wait_for(lambda: any(line.startswith("county.dashboard teams=") and line != "county.dashboard teams=0"
                             for line in states(state)), "the dashboard with the demo teams")
        page.wait_for_selector("body.-first-byte")
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "web-county-zh.png"))
