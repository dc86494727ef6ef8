"""The README's benchmark figures are the rendering of the committed benchmarks/results.json."""

import copy
import json

import pytest

from benchmarks.readme import BEGIN, END, README, RESULTS, render, replace_section


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_the_readme_shows_the_committed_results(results):
    readme = README.read_text(encoding="utf-8")
    assert replace_section(readme, render(results)) == readme, \
        "README.md's benchmark figures differ from benchmarks/results.json: run make readme-bench"


def test_the_figures_follow_the_results(results):
    changed = copy.deepcopy(results)
    changed["reference"]["speedup"] = 123.4
    changed["million"]["peak_rss_bytes"] = 3 * 2**30
    changed["batch"]["runs"][1]["runs_per_minute"] = 4321.0
    text, before = (" ".join(render(r).split()) for r in (changed, results))  # the lines wrap
    assert "123 times as fast" in text and "| 3.00 |" in text and "4321 on 2" in text
    assert "41 times as fast" in before and "41 times as fast" not in text


def test_a_quick_run_without_the_million_renders(results):
    quick = {**copy.deepcopy(results), "million": None}
    quick["meta"]["quick"] = True
    text = render(quick)
    assert "--quick" in text and "1,000,000 |" not in text


def test_only_the_text_between_the_markers_changes():
    readme = f"before\n{BEGIN}\nold figures\n{END}\nafter\n"
    assert replace_section(readme, "new figures") == f"before\n{BEGIN}\nnew figures\n{END}\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        replace_section("no markers here", "new figures")


def test_the_comparison_timing_is_rendered_when_measured(results):
    measured = copy.deepcopy(results)
    measured["compare_panel"] = {"runs_per_arm": 10, "months": 60, "agents": 420, "workers": 2,
                                 "cold_s_including_process_start": 2.93, "warm_s": [1.2, 0.98, 1.04],
                                 "brief_pdf_s": 0.33}
    text = " ".join(render(measured).split())
    assert "10 + 10 runs of 60 months" in text and "2.9 s from a cold start, 1.0 s once" in text
    assert "cold start" not in " ".join(render({**measured, "compare_panel": None}).split())
