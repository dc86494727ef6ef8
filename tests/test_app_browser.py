"""End to end: ``make viz`` on a free port, driven by Debian's chromium through playwright, offline.

Saves a screenshot and the measured timings to results/app_browser/ (timings are recorded, never
asserted: speed belongs to benchmarks)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright
from helpers import free_port

from simulation.experiments.compare import EFFECTS

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_LIMIT = 150  # seconds; includes fetching the front-end with npm on a fresh clone
RENDER_LIMIT = 60_000  # milliseconds
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Checked on every animation frame, so that timings are not rounded up to playwright's polling steps.
SHOWS_STEP_AND_FIGURES = """text => document.body.innerText.includes(text)
    && [...document.images].filter(img => img.complete && img.naturalWidth > 0).length >= 2"""


def leaves_the_machine(url: str) -> bool:
    """A request over the network to another host (blob: and data: URLs stay in the page)."""
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in LOCAL_HOSTS


def wait_until_serving(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make viz exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"make viz did not serve {url} within {SERVER_START_LIMIT} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop make and the server it started: they share the process group make leads."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def server(root, tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser test needs Debian's chromium at {CHROMIUM}: apt-get install chromium"
                    " (make test does, as root)")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path_factory.mktemp("viz") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["make", "--no-print-directory", "viz", f"PORT={port}"], cwd=root,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(url, proc, log)
        yield url, log
    finally:
        stop(proc)


def step_and_time(page, steps: range) -> list[float]:
    """Click Step for each month in ``steps``; seconds from each click to the new month and figures."""
    times = []
    for month in steps:
        clicked = time.monotonic()
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(SHOWS_STEP_AND_FIGURES, arg=f"Step: {month}", polling="raf", timeout=RENDER_LIMIT)
        times.append(round(time.monotonic() - clicked, 3))
        expect(page.get_by_text(f"Step: {month}", exact=True)).to_be_visible()
    return times


def set_slider(page, name: str, value: int) -> None:
    """Move a slider with the keyboard, as a person without a mouse would.  The page echoes every
    value the server receives, so a long run of key presses can be pulled back by an echo of an
    earlier one; the slider is moved again until it settles on the value."""
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    for _ in range(10):
        now = int(slider.get_attribute("aria-valuenow"))
        if now == value:
            page.wait_for_timeout(500)  # let the last echoes arrive
            if int(slider.get_attribute("aria-valuenow")) == value:
                return
            continue
        for _ in range(abs(value - now)):
            slider.press("ArrowRight" if value > now else "ArrowLeft")
    assert int(slider.get_attribute("aria-valuenow")) == value


def reset_and_expect(page, text: str) -> None:
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=RENDER_LIMIT)
    expect(page.get_by_text(text, exact=False)).to_be_visible(timeout=RENDER_LIMIT)


@pytest.mark.timeout(300)
def test_policymaker_steps_resets_and_moves_a_lever_offline(server, root):
    url, log = server
    out = root / "results" / "app_browser"
    out.mkdir(parents=True, exist_ok=True)
    errors, failed, foreign = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("requestfailed", lambda req: failed.append(f"{req.url} ({req.failure})"))
            page.on("response", lambda resp: resp.status >= 400 and failed.append(f"{resp.url} ({resp.status})"))
            page.on("request", lambda req: leaves_the_machine(req.url) and foreign.append(req.url))

            started = time.monotonic()
            page.goto(url)
            page.wait_for_function(SHOWS_STEP_AND_FIGURES, arg="Step: 0", polling="raf", timeout=RENDER_LIMIT)
            first_render = round(time.monotonic() - started, 2)
            expect(page.get_by_text("Step: 0", exact=True)).to_be_visible()

            set_slider(page, "Members of the public", 301)
            figures_before = [page.locator("img").nth(i).get_attribute("src") for i in range(2)]
            default_steps = step_and_time(page, range(1, 4))
            for i, before in enumerate(figures_before):  # the network and the charts were redrawn
                expect(page.locator("img").nth(i)).not_to_have_attribute("src", before)
            page.wait_for_timeout(500)  # let the browser paint the new figures before the picture
            page.screenshot(path=str(out / "screenshot.png"))

            other = browser.new_context().new_page()  # a second visitor gets a model of their own
            other.goto(url)
            expect(other.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=RENDER_LIMIT)
            other.close()
            expect(page.get_by_text("Step: 3", exact=True)).to_be_visible()

            page.get_by_role("tab", name="Page 1").click()
            expect(page.get_by_text("Levers in effect since the last Reset")).to_be_visible(timeout=RENDER_LIMIT)
            page.get_by_role("tab", name="Page 0").click()

            reset_and_expect(page, "301 members of the public")  # the moved lever took effect

            page.get_by_role("button", name="▶").click()  # Play until month 2, then Pause
            expect(page.get_by_text("Step: 2", exact=True)).to_be_visible(timeout=RENDER_LIMIT)
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=RENDER_LIMIT)

            set_slider(page, "Members of the public", 880)  # 20 departments + 100 enterprises + 880
            reset_and_expect(page, "880 members of the public")
            thousand_steps = step_and_time(page, range(1, 6))
        finally:
            browser.close()

    assert errors == [], f"errors on the page: {errors}\nserver log:\n{log.read_text()[-3000:]}"
    assert failed == [], f"requests that failed (front-end assets missing offline?): {failed}"
    assert foreign == [], f"the page called hosts other than this machine: {foreign}"
    timings = {"first_render_s": first_render, "step_click_to_update_s_420_agents": default_steps,
               "step_click_to_update_s_1000_agents": thousand_steps, "load_average": os.getloadavg()}
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(f"\nbrowser app: {timings}; screenshot {out / 'screenshot.png'}")


SCREENSHOTS = Path("results") / "screenshots"
COMPARE_LIMIT = 180_000  # milliseconds: a cold pool of run processes on a loaded machine


def set_slider_and_see(page, name: str, value: int, caption: str) -> None:
    """Move a slider until the page (drawn by the server) shows ``caption``: keys pressed faster than
    the server answers can be lost on the way."""
    for _ in range(5):
        set_slider(page, name, value)
        try:
            expect(page.get_by_text(caption, exact=False).first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            continue
    expect(page.get_by_text(caption, exact=False).first).to_be_visible()


def choose(page, label: str, option: str) -> None:
    page.get_by_role("button", name=label).click()
    page.get_by_role("option", name=option).click()


def drop_file(page, text: str, name: str) -> None:
    """Drop a file on the page's drop zone, as dragging it from the desktop does.  A drop made by a
    script carries the file, but Chromium gives its items no file-system entry
    (``webkitGetAsEntry()`` is null outside a real drag), so the item is given one that hands over
    the same file; from there the page reads it as it reads a real drop."""
    page.evaluate("""([text, name]) => {
        const file = new File([text], name, {type: "application/x-yaml"});
        const data = new DataTransfer();
        data.items.add(file);
        const item = data.items[0];
        item.webkitGetAsEntry = () => ({isFile: true, name, file: (resolve) => resolve(file)});
        const drop = new DragEvent("drop", {bubbles: true, cancelable: true});
        Object.defineProperty(drop, "dataTransfer", {value: {items: [item], files: data.files}});
        document.querySelector(".solara-file-drop").dispatchEvent(drop);
    }""", [text, name])


@pytest.mark.timeout(900)
def test_policymaker_compares_saves_and_loads_a_package(server, root, tmp_path):
    url, log = server
    shots = root / SCREENSHOTS
    shots.mkdir(parents=True, exist_ok=True)
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_function(SHOWS_STEP_AND_FIGURES, arg="Step: 0", polling="raf", timeout=RENDER_LIMIT)

            choose(page, "Scenario", "ecosystem")  # the levers start at the ecosystem scenario's values
            expect(page.get_by_text("12 months: months from start to full strength", exact=False).first).to_be_visible()
            set_slider_and_see(page, "Ecosystem ramp-up months", 6, "6 months: months from start to full strength")
            set_slider_and_see(page, "Runs per arm", 3, "3 runs each")  # small, so that the test stays short
            page.get_by_role("slider", name="Months per run").press("Home")  # the final year: 12 months
            expect(page.get_by_text("12 months", exact=True)).to_be_visible()
            page.get_by_role("button", name="Compare with baseline").click()
            results = page.get_by_text("3 runs of each arm, 12 months", exact=False)
            expect(results).to_be_visible(timeout=COMPARE_LIMIT)
            table = page.locator("table.effects")
            expect(table).to_contain_text("Sharing volume per month, final year")
            expect(table).to_contain_text("Net countermeasure cost (10k yuan), whole horizon")
            expect(table.locator("tr")).to_have_count(1 + len(EFFECTS))  # a header and each outcome
            panel = page.locator(".v-card", has_text="Compare with baseline").last
            expect(panel.locator("img")).to_have_count(1)  # the five indicators, both arms' bands
            page.wait_for_timeout(500)
            panel.screenshot(path=str(shots / "compare_panel.png"))

            with page.expect_download() as brief:
                page.get_by_text("Download the one-page brief (PDF)").click()
            brief.value.save_as(shots / "brief_from_browser.pdf")
            assert (shots / "brief_from_browser.pdf").read_bytes().startswith(b"%PDF")

            with page.expect_download() as saved:
                page.get_by_text("Save package (YAML)").click()
            package = tmp_path / saved.value.suggested_filename
            saved.value.save_as(package)
            for preset in ("ecosystem.yaml", "baseline.yaml"):  # what the package extends, beside it
                shutil.copy(root / "scenarios" / preset, tmp_path / preset)
            done = subprocess.run([sys.executable, "-m", "simulation", "validate", str(package)], cwd=root,
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
            text = package.read_text()
            assert text.startswith("extends: ecosystem.yaml") and "ramp: 6" in text

            choose(page, "Scenario", "baseline")  # the levers move away ...
            expect(page.get_by_role("slider", name="Ecosystem ramp-up months")).to_have_attribute("aria-valuenow", "12")
            drop_file(page, text, package.name)  # ... and the package brings them back
            expect(page.get_by_text(f"Loaded {package.name}", exact=False)).to_be_visible(timeout=RENDER_LIMIT)
            expect(page.get_by_role("slider", name="Ecosystem ramp-up months")).to_have_attribute("aria-valuenow", "6")
            expect(page.get_by_text("on: whether the countermeasure acts", exact=False).first).to_be_visible()
            drop_file(page, "extends: baseline.yaml\npopulation: {public: -1}\n", "bad.yaml")
            expect(page.get_by_text("bad.yaml: population.public: -1 is not allowed", exact=False)).to_be_visible(
                timeout=RENDER_LIMIT)

            other = browser.new_context().new_page()  # another visitor starts from the defaults
            other.goto(url)
            expect(other.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=RENDER_LIMIT)
            expect(other.get_by_role("slider",
                                     name="Ecosystem ramp-up months")).to_have_attribute("aria-valuenow", "12")
            expect(other.get_by_text("runs of each arm", exact=False)).to_have_count(0)
            other.close()
        finally:
            browser.close()
    assert errors == [], f"errors on the page: {errors}\nserver log:\n{log.read_text()[-3000:]}"
