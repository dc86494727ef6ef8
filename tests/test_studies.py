"""The study protocol (simulation/analyses/protocol.py) and its one table: every registered study
implements the protocol, the command line has one subcommand per study with the study's flags, and
``validate`` recognises each study's spec file through the table."""

import inspect

import pytest

from simulation.analyses import frontier, game
from simulation.analyses.protocol import IterativeStudy, PlannedStudy, Study
from simulation.analyses.registry import STUDIES
from simulation.cli import build_parser, main
from simulation.errors import ArgumentError

SPEC_FILES = {
    "sensitivity": "scenarios/sensitivity/levers_morris.yaml",
    "frontier": "scenarios/sensitivity/frontier.yaml",
    "equal-cost": "scenarios/experiments/equal_cost.yaml",
    "robustness": "scenarios/studies/robustness.yaml",
}


def subcommands() -> dict:
    parser = build_parser()
    return next(action.choices for action in parser._actions if action.dest == "command")


@pytest.mark.parametrize("name", STUDIES)
def test_every_registered_study_implements_the_protocol(name, root):
    study = STUDIES[name]
    assert study.name == name and isinstance(study, Study)
    # Exactly one way to make its runs: one plan, or plans one after the other.
    assert isinstance(study, PlannedStudy) != isinstance(study, IterativeStudy)
    # load takes every input by its name, and nothing else without a default.
    parameters = inspect.signature(study.load).parameters
    names = {given.name for given in study.inputs}
    assert names <= set(parameters)
    assert all(p.default is not inspect.Parameter.empty for key, p in parameters.items()
               if key not in names and p.kind is p.POSITIONAL_OR_KEYWORD)
    # A study with a spec file takes it as the positional "spec", the name validate passes it by.
    assert (study.spec_key is not None) == any(given.positional and given.name == "spec" for given in study.inputs)
    if study.block:
        study.block.check(root / study.doc_example)  # the document it names holds its block
    # Results: describe() for the terminal, block() for the document block if the study has one.
    result_type = inspect.signature(study.run if isinstance(study, IterativeStudy) else study.analyse).return_annotation
    assert result_type.endswith("Result")


def test_every_result_describes_itself_and_a_documented_one_gives_its_block():
    from simulation.analyses import equal_cost, evidence, patterns, robustness, sensitivity

    results = {sensitivity.SensitivityResult, frontier.FrontierResult, equal_cost.EqualCostResult,
               robustness.RobustnessResult, evidence.EffectsResult, patterns.PatternsResult}
    for result in results:
        assert callable(result.describe) and "written" in result.__dataclass_fields__
    documented = {equal_cost.EqualCostResult, robustness.RobustnessResult, evidence.EffectsResult,
                  patterns.PatternsResult}
    assert all(callable(getattr(result, "block", None)) for result in documented)


def test_the_command_line_has_one_subcommand_per_study_with_its_flags():
    commands = subcommands()
    for name, study in STUDIES.items():
        assert name in commands
        actions = commands[name]._actions
        flags = {flag for action in actions for flag in action.option_strings}
        positional = {action.dest for action in actions if not action.option_strings}
        for given in study.inputs:
            if given.positional:
                assert given.name in positional
            else:
                assert ("--set" if given.overrides else "--" + given.name.replace("_", "-")) in flags
        assert ("--doc" in flags) == (study.block is not None)
        runner = {"--out", "--scheduler", "--restart", "--quiet"}
        assert runner <= flags if study.keeps_runs else not runner & flags
        assert "--workers" in flags


@pytest.mark.parametrize("name", SPEC_FILES)
def test_validate_recognises_each_study_spec_through_the_table(name, root, monkeypatch, capsys):
    monkeypatch.chdir(root)
    assert main(["validate", SPEC_FILES[name]]) == 0
    assert capsys.readouterr().out == f"{SPEC_FILES[name]}: ok ({name} spec)\n"
    assert STUDIES[name].spec_key is not None


def test_the_library_names_its_arguments_and_the_command_line_its_flags(root, monkeypatch, capsys):
    with pytest.raises(ArgumentError, match=r"^t_end: 0 is not allowed") as raised:
        game.check_options([0.5, 0.5, 0.5], 0, 10, 1)
    assert raised.value.argument == "t_end" and "--" not in str(raised.value)
    with pytest.raises(ArgumentError, match=r"^target_integration: -5 is not allowed"):
        frontier.STUDY.load(root / "scenarios" / "sensitivity" / "frontier.yaml", target_integration=-5)
    monkeypatch.chdir(root)
    assert main(["game", "scenarios/games/coordination.yaml", "--t-end", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --t-end: 0.0 is not allowed")
    assert main(["effects", "--first-seed", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: --first-seed: -1 is not allowed")
    assert main(["effects", "--first-seed", str(2**63 - 1), "--seeds", "2"]) == 2
    assert capsys.readouterr().err.startswith("error: --first-seed + --seeds - 1: ")
