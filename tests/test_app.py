"""The browser app (app.py and browser/): its controls, the model it builds from them, what it draws, and the
page rendered in-process with Solara (the real browser test is tests/test_app_browser.py)."""

import time

import ipyvuetify as v
import numpy as np
import pytest
import solara
from matplotlib.colors import to_rgba

from simulation.config.schema import field_unit
from simulation.experiments.compare import EFFECTS

import app
from agents import Role
from browser import controls, live, views
from simulation.config import ConfigError, Countermeasures, Scenario, field_bounds, load_scenario
from simulation.config.keys import value_at
from simulation.config.package import changed_values, read_package
from simulation.core.metrics import components
from simulation.core.model import DataSharingModel


def page():
    """The page as Solara serves it: inside an AppLayout, so the sidebar controls exist."""
    return solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)[1]


def shown(rc, text):
    return bool(rc.find(children=[text]).widgets)


def click(rc, label, times=1):
    for _ in range(times):
        rc.find(v.Btn, children=[label]).widget.click()


# ------------------------------------------------------------------ controls


def test_every_countermeasure_lever_has_a_control_within_its_declared_range():
    for block, spec in Countermeasures.model_fields.items():
        for name, field in spec.annotation.model_fields.items():
            control = controls.CONTROLS[f"countermeasures.{block}.{name}"]
            if name == "enabled":
                assert control["type"] == "Select" and control["value"] in controls.SWITCH
                continue
            low, high = field_bounds(field)
            assert control["value"] == field.default
            assert low == control["min"] <= control["value"] <= control["max"] <= high


def test_every_lever_has_a_plain_label():
    """Labels come from the config fields; none shows a raw field name, and the levers of the
    request procedure read as a policymaker would say them."""
    for key, _, label in controls.lever_fields():
        assert "_" not in label and label[0].isupper(), key
    assert controls.LABELS["countermeasures.ecosystem.escalation"] == "Refusals taken to the authority"
    assert controls.LABELS["countermeasures.mechanism.price_per_quality"] == "Price per unit at full quality"


def test_control_labels_are_unique():
    labels = [control["label"] for control in controls.CONTROLS.values()]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("preset", controls.PRESETS)
def test_untouched_controls_give_exactly_the_preset(preset):
    file = load_scenario(controls.SCENARIO_DIR / f"{preset}.yaml")
    defaults = {key: control["value"] for key, control in controls.CONTROLS.items()}
    for chosen in ({"preset": preset}, defaults | {"preset": preset}):  # first load, and Mesa's Reset
        config, seed, problems = controls.scenario_from_controls(chosen)
        assert config == file and seed == file.seed and problems == []


@pytest.mark.parametrize("preset", controls.PRESETS)
def test_controls_start_at_the_chosen_scenarios_values(preset):
    settings = controls.Settings.of_preset(preset)
    file = load_scenario(controls.SCENARIO_DIR / f"{preset}.yaml")
    for key, _, _ in controls.lever_fields():
        assert settings.controls[key] == controls.control_value(key, value_at(file, key))
    assert settings.scenario() == (file, file.seed, [])


def test_a_moved_control_overrides_the_preset():
    settings = controls.Settings.of_preset("all_countermeasures")
    for key, value in {"countermeasures.ecosystem.link_rate": 0.2, "countermeasures.security.enabled": "off",
                       "countermeasures.cognition.ramp": 3}.items():
        settings = settings.moved(key, value)
    config, _, _ = settings.scenario()
    assert config.countermeasures.ecosystem.link_rate == 0.2
    assert not config.countermeasures.security.enabled
    assert config.countermeasures.cognition.ramp == 3 and config.countermeasures.mechanism.enabled


def test_switching_a_countermeasure_on_in_the_baseline():
    config, _, _ = controls.scenario_from_controls({"countermeasures.mechanism.enabled": "on"})
    assert config.countermeasures.mechanism.enabled and not config.countermeasures.ecosystem.enabled


@pytest.mark.parametrize("text, seed", [("42", 42), (" 7 ", 7), ("+3", 3), (5, 5), ("", None), (None, None)])
def test_seed_box_accepts_whole_numbers(text, seed):
    assert controls.parse_seed(text) == (seed, None)


@pytest.mark.parametrize("text", ["abc", "-3", "1.5", "1e3", str(2**63), "4 2", True, "9" * 5000, "0" * 30 + "1" * 30])
def test_seed_box_never_raises_and_says_what_is_wrong(text):
    model = live.BrowserModel(seed=text)
    assert model.seed == model.config.seed
    assert len(model.problems) == 1 and f"is not a whole number from 0 to {2**63 - 1}" in model.problems[0]
    assert len(model.problems[0]) < 200  # one line on the page, however long the entry


def test_seed_box_range_is_the_schemas():
    low, high = field_bounds(Scenario.model_fields["seed"])
    assert controls.parse_seed(str(high)) == (high, None) and controls.parse_seed(f"000{low}") == (low, None)


def test_impossible_population_is_reported_and_the_scenario_used():
    model = live.BrowserModel(**{"population.enterprise": 5})
    assert model.layout.enterprise == 100
    assert "enterprise = 5 is smaller" in model.problems[0]


def test_the_seed_fixes_the_model_and_changes_it():
    first, again, other = live.BrowserModel(seed="11"), live.BrowserModel(seed="11"), live.BrowserModel(seed="12")
    assert np.array_equal(first.population.strategy, again.population.strategy)
    assert np.array_equal(first.holders.volume, again.holders.volume)
    assert not np.array_equal(first.holders.volume, other.holders.volume)


def test_unknown_control_is_a_programming_error():
    with pytest.raises(TypeError, match="unknown controls: population.typo"):
        live.BrowserModel(**{"population.typo": 3})


# ------------------------------------------------------------------ drawing


@pytest.fixture(scope="module")
def stepped():
    model = live.BrowserModel(preset="ecosystem")
    for _ in range(8):
        model.step()
    return model


def test_layout_is_computed_once_per_model(stepped):
    positions = stepped.positions
    assert positions.shape == (stepped.layout.total, 2) and np.isfinite(positions).all()
    assert np.allclose(positions[0], 0.0)  # the coordinator at the centre
    stepped.step()
    assert stepped.positions is positions


@pytest.mark.parametrize("kind", ["small_world", "scale_free"])
def test_layout_places_every_node_on_networks_that_mix_roles(kind):
    model = DataSharingModel(load_scenario(controls.SCENARIO_DIR / "baseline.yaml", overrides={"network.kind": kind}),
                             seed=2)
    positions = live.role_layout(model)
    radius = np.hypot(positions[:, 0], positions[:, 1])
    assert np.isfinite(positions).all()
    assert np.allclose(radius[model.population.role == Role.PUBLIC], live.RING_RADIUS[Role.PUBLIC])
    assert len(np.unique(positions.round(9), axis=0)) == model.layout.total  # no two nodes on one spot


def test_drawn_link_volumes_add_up_to_the_sharing_volume(stepped):
    _, _, carried = views.recent_links(stepped)
    assert carried.sum() == pytest.approx(stepped.metrics["sharing_volume"])


def test_island_rings_match_the_island_metrics(stepped):
    u, v = stepped.recent_flow_links(two_way=True)  # the headline islands count exchanges only
    isolated, apart = views.island_masks(stepped, u, v)
    count, _ = components(stepped.layout.holders, u, v)
    assert isolated.mean() == pytest.approx(stepped.metrics["isolated_share"])
    assert count == stepped.metrics["islands"]
    assert not (isolated & apart).any()


def test_cards_show_the_request_mechanism(stepped):
    m = stepped.metrics
    cards = views.indicator_texts(stepped)
    assert cards[0] == f"Step: {stepped.steps}"
    assert (f"Requests: {m['requests_filed']:,} filed, {m['requests_granted']:,} granted, "
            f"{m['requests_refused']:,} refused, {m['requests_escalated']:,} escalated") in cards
    assert f"Fulfilled: {m['fulfilment_rate']:.0%}" in cards
    assert f"Islands: {m['islands']} ({m['islands_either_way']} either way)" in cards
    assert f"Producers integrated: {m['producer_integration']:.0%}" in cards
    assert any(card.startswith("Wait: ") for card in cards)
    assert any(card.startswith("Grid company: ") for card in cards)


def test_network_and_charts_redraw_from_the_model(stepped):
    network, charts = views.NetworkFigure(stepped), views.ChartFigure()
    network.update(stepped)
    charts.update(stepped)
    u, _ = stepped.recent_flow_links()
    assert len(network.links.get_segments()) == len(u)
    assert views.network_caption(stepped).startswith(f"Month {stepped.steps}: {stepped.metrics['islands']} islands")
    isolated, _ = views.island_masks(stepped, *stepped.recent_flow_links(two_way=True))
    ringed = network.nodes.get_edgecolors()[: stepped.layout.holders]
    assert np.allclose(ringed[isolated], to_rgba(views.ISOLATED_RING))
    faces = network.nodes.get_facecolors()
    sharing_department = np.flatnonzero((stepped.population.role == Role.GOVERNMENT)
                                        & (stepped.population.strategy == 1))[0]
    assert np.allclose(faces[sharing_department], to_rgba(views.ROLE_COLOURS[Role.GOVERNMENT][0]))
    for metric, line in charts.lines:
        assert len(line.get_xdata()) == stepped.steps + 1
        assert line.get_ydata()[-1] == pytest.approx(stepped.metrics[metric])


# ------------------------------------------------------------------ the page, rendered in-process


def test_page_steps_resets_and_applies_a_moved_lever():
    rc = page()
    assert shown(rc, "Step: 0")
    rc.find(v.Slider, label="Members of the public").widget.v_model = 310
    click(rc, "Step", 3)
    assert shown(rc, "Step: 3")
    click(rc, "Reset")
    assert shown(rc, "Step: 0")
    assert rc.find(children=["Scenario baseline, seed 1: 20 departments, 100 enterprises,"
                             " 310 members of the public."]).widgets


def test_each_browser_session_has_its_own_model():
    first = page()
    click(first, "Step", 2)
    second = page()
    assert shown(first, "Step: 2") and shown(second, "Step: 0")


def test_a_bad_seed_shows_a_warning_instead_of_crashing():
    rc = page()
    seed_box = rc.find(v.TextField, label=controls.CONTROLS["seed"]["label"]).widget
    seed_box.v_model = "twelve"
    seed_box.fire_event("keyup.enter", None)  # the box sends its text on Enter or leaving it
    click(rc, "Reset")
    assert shown(rc, "Step: 0")
    assert any("'twelve' is not a whole number" in str(w.children) for w in rc.find(v.Alert).widgets)


def test_a_seed_of_five_thousand_digits_is_one_line_on_the_page():
    rc = page()
    seed_box = rc.find(v.TextField, label=controls.CONTROLS["seed"]["label"]).widget
    seed_box.v_model = "7" * 5000
    seed_box.fire_event("keyup.enter", None)
    click(rc, "Reset")
    assert shown(rc, "Step: 0")
    alerts = [str(w.children) for w in rc.find(v.Alert).widgets]
    assert any("(5,000 characters)' is not a whole number" in a for a in alerts) and all(len(a) < 300 for a in alerts)


# ------------------------------------------------------------------ readable controls


def test_every_slider_shows_its_value_unit_and_declared_meaning():
    rc = page()
    for key, field, label in controls.lever_fields():
        if key.endswith(".enabled"):
            continue
        slider = rc.find(v.Slider, label=label).widget
        caption = views.lever_caption(key, field, slider.v_model)
        assert caption.endswith(field.description) and field_unit(field) in caption
        assert shown(rc, caption), key


def test_levers_are_grouped_by_countermeasure():
    groups = dict(controls.lever_groups())
    for block, (title, _) in controls.GROUPS.items():
        assert {key for key, _, _ in groups[title]} == {f"countermeasures.{block}.{name}" for name in
                                                        Countermeasures.model_fields[block].annotation.model_fields}


# ------------------------------------------------------------------ save and load a package


def test_saved_settings_are_a_minimal_package_that_loads_back_to_the_same_levers(tmp_path):
    settings = controls.Settings.of_preset("ecosystem").moved("countermeasures.ecosystem.link_rate", 0.2)
    settings = settings.moved("population.public", 310).moved("seed", "12")
    text = settings.package_yaml()
    assert text.splitlines()[0] == "extends: ecosystem.yaml"
    package = read_package(text, "upload.yaml", controls.SCENARIO_DIR)
    assert package.changes == {"seed": 12, "population.public": 310, "countermeasures.ecosystem.link_rate": 0.2}
    loaded = controls.Settings.of_package(package)
    assert loaded.controls == settings.controls
    config, seed, problems = loaded.scenario()
    assert changed_values(config, package.scenario) == {} and seed == 12 and problems == []


def test_a_bad_upload_is_one_line_naming_the_file():
    bad = "extends: baseline.yaml\ncountermeasures:\n  ecosystem:\n    link_rate: 99\n"
    with pytest.raises(ConfigError, match=r"^pkg.yaml: countermeasures.ecosystem.link_rate: 99 is not allowed"):
        read_package(bad, "pkg.yaml", controls.SCENARIO_DIR)
    with pytest.raises(ConfigError, match="a package extends one of"):
        read_package("extends: /etc/hostname\n", "pkg.yaml", controls.SCENARIO_DIR)
    with pytest.raises(ConfigError, match="tag !!python/object"):
        read_package("extends: baseline.yaml\nname: !!python/object:os.system x\n", "pkg.yaml", controls.SCENARIO_DIR)


def test_choosing_a_scenario_on_the_page_sets_the_levers_to_its_values():
    rc = page()
    assert rc.find(v.Select, label="Ecosystem (government leads)").widget.v_model == "off"
    rc.find(v.Select, label="Scenario").widget.v_model = "ecosystem"
    assert rc.find(v.Select, label="Ecosystem (government leads)").widget.v_model == "on"
    meaning = Countermeasures.model_fields["ecosystem"].annotation.model_fields["link_rate"].description
    assert shown(rc, f"0.05 links/holder/month: {meaning}")


# ------------------------------------------------------------------ compare with the baseline


def wait_for(condition, seconds=240.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def small_comparison(rc):
    rc.find(v.Slider, label="Runs per arm").widget.v_model = 2
    rc.find(v.Slider, label="Months per run").widget.v_model = 12
    click(rc, "Compare with baseline")


def test_the_single_run_steps_while_a_comparison_runs_and_then_its_effects_show():
    rc = page()
    small_comparison(rc)
    assert rc.find(v.Btn, children=["Cancel"]).widget.disabled is False  # running
    click(rc, "Step")
    assert shown(rc, "Step: 1")
    assert wait_for(lambda: any('class="effects"' in w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets))
    assert rc.find(v.Btn, children=["Cancel"]).widget.disabled is True
    table = next(w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
                 if 'class="effects"' in w.unsafe_innerHTML)
    assert table.count("<tr>") == 1 + len(EFFECTS) and "Net countermeasure cost (10k yuan), whole horizon" in table


def test_a_comparison_can_be_cancelled():
    rc = page()
    small_comparison(rc)
    click(rc, "Cancel")
    assert wait_for(lambda: shown(rc, "Comparison cancelled."), 60)
    assert not any('class="effects"' in w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets)


def test_the_sidebar_keeps_reset_and_step_above_the_levers():
    text = repr(page().find(v.NavigationDrawer).widget)
    assert 0 <= text.find("'Controls'") < text.find("'Package'") < text.find("'Levers'")
