"""The policymakers' browser app: Mesa's SolaraViz over the data-sharing model.

Run it with ``make viz`` (http://127.0.0.1:8765; ``PORT=`` changes the port).  Pick a scenario
(the levers move to its values), move the countermeasure levers, press Reset to apply them, then
Step or Play.  The cards and charts follow the requests of each month under the sharing rules
(filed, granted, refused, escalated; the share fulfilled, waiting times and late answers), the
islands (also counting two-way exchanges only), producer integration and each role's stance, the
grid company's among them.

The levers sit in the sidebar, one card per countermeasure; each shows its value, unit and meaning
as declared in ``simulation/config/schema.py``.  "Save package" downloads the levers as the
smallest scenario file that ``extends`` the chosen scenario (``simulation/config/package.py``);
dropping such a file on the page sets the levers, after the same validation as the CLI's (and more:
at most 64 KiB, no file of the server outside ``scenarios/``, a size this machine can run).
"Compare with baseline" runs the levers as set and the baseline over N shared seeds in background
processes through the batch's own runner (``simulation/experiments/compare.py``), shows the bands
and the final-year effects, and offers a one-page PDF brief (``simulation/experiments/brief.py``).

This file holds the page's Solara components; what they show is computed without Solara in the
package ``browser/``: the levers and the scenario they describe (``browser/controls.py``; nothing the
page sends can crash it), the session's model (``browser/live.py``), the figures and texts
(``browser/views.py``), the comparison (``browser/compare.py``) and a dropped package
(``browser/uploads.py``).  The comparison's runs go to the server's shared pool of processes
(``simulation/experiments/execute.py``, ``shared_processes``), a fair share per session; a session
whose tab closes stops its comparison.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter
from pydantic.fields import FieldInfo

from browser.compare import CompareOutcome, CompareRequest, compare, compare_request, effects_html
from browser.controls import CONTROLS, DEFAULT_PRESET, HORIZON, PRESETS, Settings, lever_groups, problem_line
from browser.live import BrowserModel
from browser.uploads import read_upload
from browser.views import (LEGEND_HTML, ChartFigure, NetworkFigure, countermeasure_status, indicator_texts,
                           lever_caption, lever_guide, network_caption, session_line)
from simulation.config import ConfigError
from simulation.experiments.brief import brief_pdf
from simulation.experiments.compare import DEFAULT_RUNS
from simulation.experiments.execute import shared_processes
from simulation.experiments.outcomes import FINAL_YEAR

log = logging.getLogger("app")

# ---------------------------------------------------------------------------------------------
# The single run: indicators, the levers in effect, the network and the charts


@solara.component
def Indicators(model: BrowserModel):
    update_counter.get()
    with solara.Column(gap="4px"):
        with solara.Row(style={"flex-wrap": "wrap"}):
            for text in indicator_texts(model):
                with solara.Card(margin=1, elevation=1):
                    solara.Text(text, style={"font-size": "1.25em", "font-weight": "bold"})
        for problem in model.problems:
            solara.Warning(problem)
        solara.Text(session_line(model))
        for line in countermeasure_status(model):
            solara.Text(line, style={"font-size": "0.9em"})
        solara.Text(
            "Controls take effect on Reset; one left where it started keeps the scenario's value."
            " Page 1 lists every lever in effect.",
            style={"color": "#666666", "font-size": "0.9em"},
        )


@solara.component
def LeverGuide(model: BrowserModel):
    """Every lever: the value in effect, what it means, and its declared range (from the config)."""
    with solara.Column(gap="2px"):
        solara.Text("Levers in effect since the last Reset", style={"font-size": "1.2em", "font-weight": "bold"})
        for line in lever_guide(model.config):
            solara.Text(line, style={"font-size": "0.9em"})


@solara.component
def NetworkView(model: BrowserModel):
    tick = update_counter.get()
    view = solara.use_memo(lambda: NetworkFigure(model), [model])
    view.update(model)
    with solara.Column(gap="0px"):
        solara.Text(network_caption(model), style={"font-weight": "bold"})
        solara.FigureMatplotlib(view.figure, dependencies=[model, tick], format="png", dpi=80)
        solara.HTML(unsafe_innerHTML=LEGEND_HTML)


@solara.component
def Charts(model: BrowserModel):
    tick = update_counter.get()
    view = solara.use_memo(ChartFigure, [model])
    view.update(model)
    solara.FigureMatplotlib(view.figure, dependencies=[model, tick], format="png", dpi=90)


# ---------------------------------------------------------------------------------------------
# The levers: one card per countermeasure, each slider with its value, unit and meaning


@solara.component
def Lever(key: str, field: FieldInfo, settings: solara.Reactive[Settings]):
    spec, value = CONTROLS[key], settings.value.controls[key]

    def move(new: Any) -> None:
        settings.value = settings.value.moved(key, new)

    if spec["type"] == "Select":
        solara.Select(spec["label"], values=spec["values"], value=value, on_value=move, dense=True)
    else:
        slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
        low, high = min(spec["min"], value), max(spec["max"], value)  # a loaded package may lie beyond the span
        slider(spec["label"], value=value, on_value=move, min=low, max=high, step=spec["step"], thumb_label=True)
    solara.Text(lever_caption(key, field, value), style={"font-size": "0.8em", "color": "#555555"})


@solara.component
def LeverControls(settings: solara.Reactive[Settings]):
    controls = settings.value.controls

    def choose(name: str, value: Any) -> None:
        settings.value = settings.value.moved(name, value)

    with solara.Card("Levers", margin=0):
        solara.Select("Scenario", values=list(PRESETS), value=controls["preset"],
                      on_value=lambda value: choose("preset", value))
        solara.InputText(CONTROLS["seed"]["label"], value=controls["seed"],
                         on_value=lambda value: choose("seed", value))
        _, _, problems = settings.value.scenario()
        for problem in problems:
            solara.Warning(problem, dense=True)
        solara.Text("Each control starts at the chosen scenario's value; press Reset to apply them.",
                    style={"font-size": "0.85em", "color": "#666666"})
    for title, rows in lever_groups():
        with solara.Card(title, margin=0):
            for key, field_info, _ in rows:
                Lever(key, field_info, settings)


# ---------------------------------------------------------------------------------------------
# Save and load a package


@solara.component
def PackagePanel(settings: solara.Reactive[Settings]):
    message, set_message = solara.use_state(None)

    def download() -> str:
        try:
            return settings.value.package_yaml()
        except ConfigError as exc:
            set_message(f"Not saved: {str(exc).splitlines()[0]}")
            return f"# not saved: {exc}\n"

    def upload(file: dict) -> None:  # called in FileDrop's own thread, off the event loop
        try:
            package = read_upload(file["name"], file["size"], file["file_obj"])
        except ConfigError as exc:
            set_message(str(exc).splitlines()[0])
            return
        settings.value = Settings.of_package(package)
        set_message(f"Loaded {file['name']}: {len(package.changes)} changes to {package.preset}."
                    " Press Reset to run it.")

    with solara.Card("Package", margin=0):
        solara.FileDownload(download, filename=f"{settings.value.controls['preset']}_package.yaml",
                            label="Save package (YAML)", mime_type="application/x-yaml")
        # lazy: nothing is sent before read_upload has checked the size the browser announces
        solara.FileDrop(label="Drop a saved package (YAML) here to load it", on_file=upload, lazy=True)
        if message:
            (solara.Success if message.startswith("Loaded") else solara.Error)(message, dense=True)



# ---------------------------------------------------------------------------------------------
# Compare with the baseline over many seeds (in a background thread; the runs in processes)


@solara.component
def CompareResults(outcome: CompareOutcome):
    request, comparison = outcome.request, outcome.comparison
    runs = len(comparison.seeds)
    solara.Text(f"{request.title}: {runs} runs of each arm, {comparison.steps} months, seeds shared by both arms."
                f" Lines: mean; bands: 95% interval of the mean.", style={"font-weight": "bold"})
    solara.FigureMatplotlib(outcome.figure, format="png", dpi=80)
    solara.Text("Final-year effects of the package (package minus baseline, paired by seed; 95% interval)")
    solara.HTML(tag="div", unsafe_innerHTML=effects_html(outcome.table))
    solara.FileDownload(lambda: brief_pdf(comparison, request.title, request.changes), filename="brief.pdf",
                        label="Download the one-page brief (PDF)", mime_type="application/pdf")


@solara.component
def ComparePanel(settings: solara.Reactive[Settings]):
    runs = solara.use_reactive(DEFAULT_RUNS)
    months = solara.use_reactive(HORIZON)
    problem, set_problem = solara.use_state(None)

    session_closed = solara.use_memo(threading.Event, [])
    solara.use_effect(lambda: session_closed.set, [])  # on unmount (the tab closed): stop the comparison's runs

    def job(request: CompareRequest) -> CompareOutcome | None:
        def progress(done: int, total: int) -> None:
            task.progress = 100.0 * done / total

        return compare(request, progress, cancelled=lambda: session_closed.is_set() or not task.is_current())

    task = solara.lab.use_task(job, dependencies=None)

    def start() -> None:
        try:
            request = compare_request(settings.value, runs.value, months.value)
        except Exception as exc:  # noqa: BLE001 - a ConfigError, or one not foreseen: one line, never a traceback
            set_problem(problem_line(exc))
            if not isinstance(exc, ConfigError):
                log.error("Compare could not start: %s", problem_line(exc))
            return
        set_problem(None)
        task(request)

    with solara.Card("Compare with baseline", margin=0):
        solara.Text("Runs the levers as set now (no Reset needed) and the baseline (the same world, every"
                    " countermeasure off) on the same seeds, in background processes: the single run above stays"
                    " usable.",
                    style={"font-size": "0.9em"})
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            with solara.Column(style={"min-width": "260px"}):
                solara.SliderInt("Runs per arm", value=runs, min=2, max=50, thumb_label=True)
                solara.Text(f"{runs.value} runs each", style={"font-size": "0.8em"})
            with solara.Column(style={"min-width": "260px"}):
                solara.SliderInt("Months per run", value=months, min=FINAL_YEAR, max=2 * HORIZON, thumb_label=True)
                solara.Text(f"{months.value} months", style={"font-size": "0.8em"})
            solara.Button("Compare with baseline", on_click=start, disabled=task.pending, color="primary")
            solara.Button("Cancel", on_click=task.cancel, disabled=not task.pending)
        if problem:
            solara.Error(problem, dense=True)
        if task.pending:
            solara.ProgressLinear(task.progress if task.progress is not None else True)
            solara.Text(f"Running: {task.progress or 0:.0f}% of the runs done")
        elif task.cancelled:
            solara.Warning("Comparison cancelled.", dense=True)
        elif task.finished and task.value is not None and task.value.problem:
            solara.Error(task.value.problem, dense=True)
        if task.latest is not None and task.latest.comparison is not None and not task.pending:
            CompareResults(task.latest)


# Play's pause between steps (Mesa's default is 100 ms).  Once, on a machine loaded by other jobs,
# pressing Play or Pause at 100 ms ended in Solara's "Too many renders" error (Play's steps changed
# the state during every pass of the click's redraw, which takes a few tenths of a second); a longer
# pause leaves the redraw room.  The Play Interval slider still goes down to 1 ms.
PLAY_INTERVAL_MS = 500


@solara.component
def SidebarCards(settings: solara.Reactive[Settings]):
    with solara.Sidebar():
        PackagePanel(settings)
        LeverControls(settings)


@solara.component
def SidebarLevers(settings: solara.Reactive[Settings]):
    # Solara orders sidebar content by how deep in the page it is declared: one level deeper than
    # Mesa's sidebar puts the levers below its Reset, Step and Play.
    SidebarCards(settings)


@solara.component
def Page():
    settings = solara.use_reactive(Settings.of_preset(DEFAULT_PRESET))  # one session's controls
    solara.use_effect(lambda: None if shared_processes() else None, [])  # run processes ready before Compare
    model = solara.use_memo(lambda: BrowserModel(settings=settings), dependencies=[])  # and its own model
    SolaraViz(
        model,
        components=[(Indicators, 0), (NetworkView, 0), (Charts, 0), (LeverGuide, 1)],
        model_params={"settings": settings},  # fixed: Reset builds the model from the session's settings
        name="Government–enterprise–public data sharing",
        play_interval=PLAY_INTERVAL_MS,
    )
    SidebarLevers(settings)
    ComparePanel(settings)
