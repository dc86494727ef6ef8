"""A package dropped on the browser app is trusted in nothing: it names no file of the server, its
size is estimated before it is accepted, it is refused by its length before it is read, and a model
that cannot be built is one line on the page, not a traceback (browser/uploads.py, browser/live.py).
The same refusals through the real server and Chromium are at the end (slow)."""

import io
import logging
import shutil
import sys
import time

import networkx as nx
import pytest

from browser import controls, live, uploads
from browser.uploads import UPLOAD_LIMIT, read_upload
from simulation.config import ConfigError
from simulation.config.package import read_package


def upload(text: str, name: str = "upload.yaml"):
    data = text.encode()
    return read_upload(name, len(data), io.BytesIO(data))


def refusal(text: str, name: str = "upload.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        upload(text, name)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(name)
    return message


class Opened:
    """Paths this process opens while it is on (an audit hook: it sees every open(), whoever calls it)."""

    on = False
    paths: list[str] = []

    @classmethod
    def hook(cls, event, args):
        if cls.on and event == "open" and isinstance(args[0], str):
            cls.paths.append(args[0])


sys.addaudithook(Opened.hook)


@pytest.fixture
def opened():
    Opened.paths, Opened.on = [], True
    yield Opened.paths
    Opened.on = False


# ------------------------------------------------------------------ no file of the server


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "../README.md"])
def test_an_upload_naming_a_server_file_is_refused_before_it_is_read(path, opened):
    message = refusal(f"extends: baseline.yaml\nnetwork: {{kind: file, path: {path}}}\n")
    assert "network.path" in message and "scenarios folder" in message
    assert not any("passwd" in p or "README" in p for p in opened), opened


def test_a_link_in_the_scenarios_folder_leading_out_of_it_is_refused(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(controls.SCENARIO_DIR / "baseline.yaml", folder)
    (folder / "net.graphml").symlink_to("/etc/passwd")
    with pytest.raises(ConfigError, match=r"pkg.yaml: network.path: 'net.graphml' is not allowed"):
        read_package("extends: baseline.yaml\nnetwork: {kind: file, path: net.graphml}\n", "pkg.yaml", folder)


@pytest.fixture
def scenarios_with_a_network(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(controls.SCENARIO_DIR / "baseline.yaml", folder)
    graph = nx.Graph()
    for node, role in enumerate(["government"] * 3 + ["enterprise"] * 2 + ["public"] * 3):
        graph.add_node(str(node), role=role)
    graph.add_edges_from([("0", "1"), ("1", "2"), ("2", "3"), ("3", "4"), ("4", "5"), ("5", "6"), ("6", "7")])
    nx.write_graphml(graph, folder / "case.graphml")
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    monkeypatch.setattr(uploads, "SCENARIO_DIR", folder)
    return folder


def test_a_network_file_inside_the_scenarios_folder_is_read_and_validated_as_a_network(scenarios_with_a_network):
    package = upload("extends: baseline.yaml\nnetwork: {kind: file, path: case.graphml}\n")
    assert package.scenario.network.path == str(scenarios_with_a_network / "case.graphml")
    message = refusal("extends: baseline.yaml\nnetwork: {kind: file, path: notes.csv}\n")
    assert "cannot read the network" in message


# ------------------------------------------------------------------ sizes estimated before they are accepted


def test_an_upload_too_large_for_this_machine_is_refused_by_the_memory_estimate():
    started = time.monotonic()
    message = refusal("extends: baseline.yaml\npopulation: {government: 200000}\n", "huge.yaml")
    assert "needs about" in message and "of memory (estimated before building it)" in message
    assert time.monotonic() - started < 5


def test_levers_too_large_for_this_machine_are_one_problem_and_the_scenario_is_used():
    settings = controls.Settings.of_preset("baseline")
    settings = controls.Settings(settings.controls, settings.start, {"population.government": 200_000})
    config, _, problems = settings.scenario()
    assert config.population.government == 20 and len(problems) == 1 and "of memory" in problems[0]


# ------------------------------------------------------------------ a size limit before anything is read


class Unreadable(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("read although the announced size is over the limit")


def test_an_upload_over_the_limit_is_refused_at_once_without_reading():
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"big.yaml: 2,200,000 bytes is too large: a package is at most 64 KiB"):
        read_upload("big.yaml", 2_200_000, Unreadable())
    assert time.monotonic() - started < 0.5


def test_an_upload_larger_than_announced_is_refused_after_the_limit():
    stream = io.BytesIO(b"# " + b"x" * 2_200_000)
    with pytest.raises(ConfigError, match="too large"):
        read_upload("liar.yaml", 100, stream)
    assert stream.tell() == UPLOAD_LIMIT + 1


def test_an_upload_that_is_not_text_or_has_a_hostile_name_is_one_line():
    with pytest.raises(ConfigError, match=r"^bad name\.yaml: not a UTF-8 text file$"):
        read_upload("bad\nname.yaml", 3, io.BytesIO(b"\xff\xfe\x00"))


# ------------------------------------------------------------------ a Reset never shows a traceback


def test_a_model_that_cannot_be_built_is_one_line_on_the_page_and_in_the_log(scenarios_with_a_network, caplog):
    package = upload("extends: baseline.yaml\nnetwork: {kind: file, path: case.graphml}\n")
    settings = controls.Settings.of_package(package)
    (scenarios_with_a_network / "case.graphml").write_text("<damaged")  # between the upload and the Reset

    class Session:
        value = settings

    with caplog.at_level(logging.ERROR):
        model = live.BrowserModel(settings=Session())
    assert model.config.name == "baseline" and model.layout.government == 20
    assert len(model.problems) == 1 and "case.graphml" in model.problems[0] and "\n" not in model.problems[0]
    assert [r.exc_info for r in caplog.records] == [None] and "case.graphml" in caplog.records[0].getMessage()


# ------------------------------------------------------------------ the same through the real server (slow)

from test_app_browser import (CHROMIUM, CHROMIUM_ARGS, RENDER_LIMIT, SHOWS_STEP_AND_FIGURES,  # noqa: E402
                              drop_file, server)  # noqa: F401 - server is the fixture that starts make viz
from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_page_refuses_hostile_uploads_with_one_line_and_the_server_logs_no_traceback(server):  # noqa: F811
    url, log = server
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_function(SHOWS_STEP_AND_FIGURES, arg="Step: 0", polling="raf", timeout=RENDER_LIMIT)

            drop_file(page, "extends: baseline.yaml\nnetwork: {kind: file, path: /etc/passwd}\n", "passwd.yaml")
            expect(page.get_by_text("passwd.yaml: network.path: '/etc/passwd' is not allowed", exact=False)
                   ).to_be_visible(timeout=RENDER_LIMIT)

            dropped = time.monotonic()
            drop_file(page, "# " + "x" * 2_200_000 + "\n", "big.yaml")
            expect(page.get_by_text("big.yaml: 2,200,003 bytes is too large",
                                    exact=False)).to_be_visible(timeout=30_000)
            big_s = time.monotonic() - dropped

            drop_file(page, "extends: baseline.yaml\npopulation: {government: 200000}\n", "huge.yaml")
            expect(page.get_by_text("huge.yaml: a run of 200,400 agents",
                                    exact=False)).to_be_visible(timeout=RENDER_LIMIT)

            drop_file(page, "extends: baseline.yaml\npopulation: {public: 310}\n", "fine.yaml")  # and a good one loads
            expect(page.get_by_text("Loaded fine.yaml: 1 changes to baseline", exact=False)).to_be_visible(
                timeout=RENDER_LIMIT)
            page.get_by_role("button", name="Reset").click()
            expect(page.get_by_text("310 members of the public", exact=False)).to_be_visible(timeout=RENDER_LIMIT)
        finally:
            browser.close()
    assert errors == []
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    print(f"\n2.2 MB upload refused {big_s:.1f} s after the drop")
