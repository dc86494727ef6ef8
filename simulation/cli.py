"""Command line: ``python -m simulation COMMAND ...``.  Bad input exits with status 2 and a
one-line error per problem; nothing is written before the input validates.  Library errors name
fields and folders; this module adds the flags that address them."""

from __future__ import annotations

import argparse
import os
import re
import sys
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from simulation.config import Scenario, load_scenario, parameter_markdown, parse_override
from simulation.errors import (ArgumentError, ConfigError, OutputLocked, OutputRefused, ResultsMissing,
                               SchedulerUnreachable, StaleResults, UserError)
from simulation.experiments.numbers import number

RESULTS = Path("results")
SET = "--set"
SET_MERGES = ("a mapping for a block is merged into it: countermeasures.security={enabled: true} keeps the block's"
              " other values")
SET_HELP = f"override a field, e.g. population.public=500 (repeatable); {SET_MERGES}"

# What the command line adds to a library error: the flags or commands that address it.
HINTS = {
    StaleResults: "--restart discards them, or choose another --out",
    OutputLocked: "wait for it to finish, or choose another --out",
    OutputRefused: "choose a new or empty --out",
    SchedulerUnreachable: "check --scheduler or DASK_SCHEDULER_ADDRESS",
    ResultsMissing: "run `python -m simulation batch EXPERIMENT.yaml --out DIR` first",
}


def _overrides(pairs: list[str] | None) -> dict:
    try:
        return dict(parse_override(p) for p in pairs or [])
    except ConfigError as exc:
        raise ConfigError(f"{SET} {exc}") from None


def _scenario(path: str | Path, pairs: list[str] | None) -> Scenario:
    """A scenario file with the command line's ``--set`` overrides."""
    return load_scenario(path, _overrides(pairs), overrides_source=SET)


def _seed_and_steps(args: argparse.Namespace, scenario: Scenario) -> tuple[int, int]:
    """``--seed`` and ``--steps`` (default: the scenario's), held to the scenario fields' declared ranges."""
    from simulation.core.runner import checked

    seed = scenario.seed if args.seed is None else checked("seed", args.seed, "--seed")
    steps = scenario.steps if args.steps is None else checked("steps", args.steps, "--steps")
    return seed, steps


def _check_buildable(path: str | Path, scenario: Scenario, steps: int) -> None:
    """Raise a ConfigError naming ``path`` unless the scenario's network file reads and one run of
    ``steps`` months fits in memory."""
    from simulation.core.capacity import check_scenario

    check_scenario(scenario, str(path), steps)


def cmd_run(args: argparse.Namespace) -> int:
    from simulation.core.runner import run
    from simulation.experiments.folder import named_folder, owned, writing
    from simulation.experiments.store import write_json, write_parquet

    scenario = _scenario(args.scenario, args.set)
    seed, steps = _seed_and_steps(args, scenario)
    _check_buildable(args.scenario, scenario, steps)
    out = Path(args.out) if args.out else named_folder(RESULTS, "runs", f"{scenario.name}-seed{seed}")
    with owned(out, "run"), writing(out):  # refused before the run if the folder holds anything but a run's files
        result = run(scenario, seed=seed, steps=steps)
        write_parquet(out / "timeseries.parquet", result.timeseries)
        write_json(out / "summary.json", result.summary)
    print(format_summary(result.summary))
    print(f"wrote {out}/timeseries.parquet and {out}/summary.json")
    return 0


SHOWN = ("cumulative_volume", "sharing_volume", "volume_catalogued", "volume_cross_sector", "requests_filed",
         "requests_granted", "requests_refused", "requests_escalated", "fulfilment_rate", "fulfilment_overall",
         "fulfilment_overall_catalogued", "fulfilment_overall_cross_sector", "wait_mean_days", "wait_p90_days",
         "beyond_window_share", "forced_volume_share", "demand_discouraged", "adoption_government",
         "adoption_enterprise", "adoption_public", "adoption_holders", "grid_sharing", "producer_integration",
         "islands", "islands_either_way", "largest_component_share", "mean_trust", "remediation_cost_share",
         "time_to_lasting_integration", "time_to_half_adoption", "total_countermeasure_cost",
         "total_net_countermeasure_cost", "interest_balance_overall")


def _text(value) -> str:
    """A summary value as printed: never for a time not reached, any other by the one number rule."""
    return "never" if value is None else number(value)


def format_summary(summary: dict) -> str:
    lines = [f"scenario {summary['scenario']}  seed {summary['seed']}  steps {summary['steps']}"]
    width = max(map(len, SHOWN))
    lines += [f"  {key:<{width}} {_text(summary[key])}" for key in SHOWN]
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    """Every scenario once: a table of final metrics."""
    import pandas as pd

    from simulation.core.runner import run

    files = [Path(f) for f in args.scenarios] or sorted(Path("scenarios").glob("*.yaml"))
    if not files:
        raise ConfigError(f"compare: no scenario files given, and {Path.cwd() / 'scenarios'} holds none:"
                          " name the files, or run it in the project folder")
    scenarios = [load_scenario(f) for f in files]
    seeds_and_steps = [_seed_and_steps(args, scenario) for scenario in scenarios]
    for file, scenario, (_, steps) in zip(files, scenarios, seeds_and_steps):
        _check_buildable(file, scenario, steps)
    rows = []
    for scenario, (seed, steps) in zip(scenarios, seeds_and_steps):
        summary = run(scenario, seed=seed, steps=steps).summary
        rows.append({"scenario": scenario.name, **{k: _text(summary[k]) for k in SHOWN}})
    print(pd.DataFrame(rows).set_index("scenario").T.to_string())
    return 0


def validate_file(path: Path, overrides: dict) -> str:
    """Check any of the project's YAML files, told apart by their keys; returns what it was."""
    from simulation.analyses.registry import STUDIES
    from simulation.config import read_yaml

    keys = set(read_yaml(path))
    studies = {study.spec_key: study for study in STUDIES.values() if study.spec_key}
    if overrides and keys & {"payoffs", "replications", *studies}:
        raise ConfigError(f"{path}: {SET} overrides scenario fields; this is not a scenario file")
    if "payoffs" in keys:
        from simulation.analyses.game import load_game

        load_game(path)
        return "game"
    # A study's spec before an experiment's: a robustness spec lists scenarios and replications too.
    for key, study in studies.items():
        if key in keys:
            from simulation.analyses.protocol import check_size

            check_size(study, study.load(spec=path))
            return f"{study.name} spec"
    if {"scenarios", "replications"} <= keys:
        from simulation.experiments.plan import plan_experiment

        plan_experiment(path)
        return "experiment"
    scenario = load_scenario(path, overrides, overrides_source=SET)
    _check_buildable(path, scenario, scenario.steps)
    return "scenario"


def cmd_validate(args: argparse.Namespace) -> int:
    failures = 0
    for name in args.files:
        try:
            kind = validate_file(Path(name), _overrides(args.set))
            print(f"{name}: ok ({kind})")
        except UserError as exc:
            print_error(exc)
            failures += 1
    return 2 if failures else 0


def cmd_params(args: argparse.Namespace) -> int:
    print(parameter_markdown(), end="")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Run an experiment file in parallel into a resumable folder; exit 1 if any run failed."""
    from simulation.experiments.execute import execute
    from simulation.experiments.folder import named_folder
    from simulation.experiments.plan import plan_experiment

    plan = plan_experiment(args.experiment, args.workers, args.scheduler)
    out = Path(args.out) if args.out else named_folder(RESULTS, plan.name)
    outcome = execute(plan, out, workers=args.workers, scheduler=args.scheduler, chunk_size=args.chunk_size,
                      restart=args.restart, replace_stale=args.replace_stale, progress=not args.quiet)
    print(f"{out}: {outcome.total} runs ({outcome.skipped} finished before),"
          " runs.parquet and timeseries.parquet written")
    if outcome.failed:
        print(f"error: {outcome.failed} of {outcome.total} runs failed; see the error column of {out}/runs.parquet;"
              " re-running the same command retries them", file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from simulation.experiments.results import export_csv

    for path in export_csv(args.dir):
        print(f"wrote {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Tables and figures of a batch; with --target-half-width, the runs each target needs."""
    import pandas as pd

    from simulation.experiments.report import write_report

    targets = _targets(args.target_half_width)
    for path in write_report(args.dir, args.relative_half_width, targets):
        print(f"wrote {path}")
    table = pd.read_csv(Path(args.dir) / "report" / "replications.csv")
    column, label = "runs_for_relative_target", f"a 95% half-width of {args.relative_half_width:.0%} of the mean"
    print(f"runs needed for {label} (the most any scenario needs; this batch: n per scenario):")
    print(_needed(table, column))
    if targets:
        print("runs needed for the target half-widths given:")
        print(_needed(table[table["metric"].isin(targets)], "runs_for_absolute_target"))
    return 0


def _targets(pairs: list[str] | None) -> dict[str, float]:
    targets = {}
    for pair in pairs or []:
        metric, sep, value = pair.partition("=")
        try:
            targets[metric.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--target-half-width {pair!r}: expected METRIC=HALF_WIDTH,"
                              " e.g. cumulative_volume=50") from None
        if not sep:
            raise ConfigError(f"--target-half-width {pair!r}: expected METRIC=HALF_WIDTH, e.g. cumulative_volume=50")
    return targets


def _needed(table, column: str) -> str:
    """Per metric: the most runs any scenario needs, and which, beside the batch's runs."""
    lines = []
    for metric, rows in table.groupby("metric", sort=False):
        known = rows.dropna(subset=[column])
        if known.empty:
            lines.append(f"  {metric:<32} n/a (mean 0 in every scenario)")
            continue
        worst = known.loc[known[column].idxmax()]
        lines.append(f"  {metric:<32} {int(worst[column]):>8,}  ({worst['group']}; this batch {int(worst['n'])})")
    return "\n".join(lines)


def cmd_study(study, args: argparse.Namespace) -> int:
    """Any study of the registry (simulation/analyses/registry.py): its inputs checked, its runs made
    through the batch runner, what it found printed; with --doc, its table written into the document's
    generated block (checked before the runs, not after them)."""
    from simulation.analyses.protocol import perform

    with _worded_by_flags(_flags(study.inputs)):
        spec = study.load(**_inputs(study, args))
    doc = Path(args.doc) if study.block and args.doc else None
    if doc:
        study.block.check(doc)
    result = perform(study, spec, args.out if study.keeps_runs else None, **_runner_options(args, study.keeps_runs))
    if not (doc and study.doc_replaces_output):
        print(result.describe())
    if doc:
        study.block.write(doc, result.block())
        print(f"updated {doc}")
    return 0


def _inputs(study, args: argparse.Namespace) -> dict:
    """The study's inputs from the command line; overrides parsed, and named ``--set`` in messages."""
    values = {}
    for given in study.inputs:
        if given.overrides:
            values[given.name], values[f"{given.name}_source"] = _overrides(getattr(args, given.name)), SET
        else:
            values[given.name] = getattr(args, given.name)
    return values


def _flag(given) -> str:
    return SET if given.overrides else "--" + given.name.replace("_", "-")


def _flags(inputs) -> dict[str, str]:
    return {given.name: _flag(given) for given in inputs if not given.positional}


ARGUMENT_NAME = re.compile(r"(?<![\w-])[a-z][a-z_]*")


@contextmanager
def _worded_by_flags(flags: dict[str, str]):
    """A library error about a function's argument (``t_end``), worded by the flag that gave it (``--t-end``)."""
    try:
        yield
    except ArgumentError as exc:
        argument = ARGUMENT_NAME.sub(lambda name: flags.get(name.group(), name.group()), exc.argument)
        raise ConfigError(f"{argument}: {exc.problem}") from None


def _add_study(sub, study) -> None:
    """The study's subcommand: its inputs, --doc if it has a document block, and the runner's flags."""
    p = sub.add_parser(study.name, help=_escaped(study.help))
    for given in study.inputs:
        if given.positional:
            p.add_argument(given.name, help=_escaped(given.help))
        elif given.overrides:
            p.add_argument(SET, dest=given.name, action="append", metavar="KEY=VALUE",
                           help=f"{_escaped(given.help)}; {SET_MERGES}")
        else:
            p.add_argument(_flag(given), type=_positive if given.at_least_one else given.type, default=given.default,
                           metavar=given.metavar, help=_escaped(given.help))
    if study.block:
        p.add_argument("--doc", help=f"Markdown file whose generated block to replace, e.g. {study.doc_example}")
    if study.keeps_runs:
        _add_runner_arguments(p)
    else:
        p.add_argument("--workers", type=_positive,
                       help="local worker processes of the batch runner (default: the number of CPUs)")
    p.set_defaults(func=partial(cmd_study, study))


def _escaped(text: str | None) -> str | None:
    """argparse formats help with %: a literal one is %%."""
    return None if text is None else text.replace("%", "%%")


def _runner_options(args: argparse.Namespace, keeps_runs: bool) -> dict:
    if not keeps_runs:  # runs in a temporary folder: only the workers to choose, no progress bar
        return {"workers": args.workers, "progress": False}
    return {"workers": args.workers, "scheduler": args.scheduler, "restart": args.restart, "progress": not args.quiet}


def _add_runner_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="output folder (default results/NAME); re-running with it resumes")
    p.add_argument("--workers", type=_positive, help="local worker processes (default: the number of CPUs)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler instead (default: $DASK_SCHEDULER_ADDRESS if set)")
    p.add_argument("--restart", action="store_true",
                   help="discard the folder's results of an older spec or code and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: must be at least 1")
    return value


# The game's library arguments and the flags that give them.
GAME_FLAGS = {"start": "--start", "t_end": "--t-end", "agents_per_role": "--abm-agents", "seed": "--seed",
              "out": "--plot"}


def cmd_game(args: argparse.Namespace) -> int:
    """Evolutionary-game analysis of a game file or of a scenario's mean field (docs/game.md)."""
    with _worded_by_flags(GAME_FLAGS):
        return _game(args)


def _game(args: argparse.Namespace) -> int:
    import json

    from simulation.analyses import game, mean_field

    if args.plot:
        game.check_plot_path(args.plot)
    if (args.file is None) == (args.scenario is None):
        raise ConfigError("game: give either a game FILE.yaml or --scenario SCENARIO.yaml")
    if args.file and (args.set or args.long_run):
        raise ConfigError("game: --set and --long-run apply to a scenario: each needs --scenario")
    if args.file:
        payoff_function = game.load_game(args.file)
        start = payoff_function.start
    else:
        scenario = _scenario(args.scenario, args.set)
        payoff_function, start = mean_field.scenario_game(scenario, args.long_run), mean_field.scenario_start(scenario)
    analysis = game.analyse(payoff_function, args.start or start, args.t_end, args.abm_agents, args.seed)
    report = analysis.as_json()
    prediction = None
    if args.scenario and not args.long_run:
        # What the month-by-month mean field on the scenario's own network predicts for a run (docs/game.md).
        path = mean_field.mean_field_path(scenario, mean_field.measure_mixing(scenario))
        prediction = {"months": len(path.shares) - 1, "end": [round(float(x), 4) for x in path.end]}
        report["mean_field_path"] = prediction
    print(json.dumps(report) if args.json else game.describe(analysis))
    if prediction and not args.json:
        print(f"Mean field on the scenario's network (mixing measured from it): shares sharing or participating"
              f" at month {prediction['months']} {prediction['end']} (government, enterprise, public)")
    if args.plot:
        game.plot_phase_portrait(payoff_function, args.plot, args.t_end)
        print(f"wrote {args.plot}", file=sys.stderr if args.json else sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    # The name the user typed: "datasharing" for the console command, "python -m simulation" otherwise.
    prog = "python -m simulation" if Path(sys.argv[0]).name == "__main__.py" else Path(sys.argv[0]).name
    parser = OneLineParser(prog=prog, description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run one scenario once")
    p.add_argument("scenario")
    p.add_argument("--seed", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=SET_HELP)
    p.add_argument("--out", help="output folder (default results/runs/NAME-seedS)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", help="run scenarios once each and print their final metrics")
    p.add_argument("scenarios", nargs="*", help="scenario files (default: scenarios/*.yaml)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("validate", help="check scenario, experiment, game and study files without running them")
    p.add_argument("files", nargs="+")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=SET_HELP)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("params", help="print the parameter table (Markdown)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("batch", help="run an experiment (scenarios x sweep x replications) in parallel, resumable")
    p.add_argument("experiment", help="experiment file (scenarios/experiments/*.yaml)")
    p.add_argument("--out", help="output folder (default results/NAME); re-running with it resumes")
    p.add_argument("--workers", type=_positive, help="local worker processes (default: the number of CPUs)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask scheduler instead (default: $DASK_SCHEDULER_ADDRESS if set)")
    p.add_argument("--chunk-size", type=_positive, help="runs per task (default: sized so a task lasts seconds)")
    p.add_argument("--restart", action="store_true",
                   help="discard the folder's results of an older plan or code and start over")
    p.add_argument("--replace-stale", action="store_true",
                   help="resume the folder's batch if it is this plan and code, otherwise discard it and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("export", help="write a batch folder's runs and timeseries as CSV")
    p.add_argument("dir", help="batch output folder")
    p.add_argument("--format", choices=["csv"], default="csv")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="tables (CSV, Markdown, LaTeX) and figures (PDF, PNG) of a batch into DIR/report")
    p.add_argument("dir", help="batch output folder")
    p.add_argument("--relative-half-width", type=float, default=0.1, metavar="R",
                   help="target 95%% half-width relative to the mean for the replications table (default 0.1)")
    p.add_argument("--target-half-width", action="append", metavar="METRIC=H",
                   help="an absolute target 95%% half-width of a key metric: prints the runs it needs (repeatable)")
    p.set_defaults(func=cmd_report)

    from simulation.analyses.registry import STUDIES

    for study in STUDIES.values():
        _add_study(sub, study)

    p = sub.add_parser("game", help="tripartite evolutionary game: equilibria, ESS, replicator ODE and agent-based run")
    p.add_argument("file", nargs="?", help="a game file (scenarios/games/*.yaml)")
    p.add_argument("--scenario", help="analyse the mean field of this scenario instead of a game file")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help=f"with --scenario: {SET_HELP}")
    p.add_argument("--long-run", action="store_true",
                   help="with --scenario: capabilities at the levels the countermeasures drive them to,"
                        " not the initial ones")
    p.add_argument("--start", nargs=3, type=float, metavar=("X", "Y", "Z"), help="initial shares (default: the file's)")
    p.add_argument("--t-end", type=float, default=200.0, help="ODE horizon (default 200)")
    p.add_argument("--abm-agents", type=int, default=1000, help="agents per role in the agent-based run; 0 skips it")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--plot", metavar="OUT.png", help="draw the phase portrait")
    p.set_defaults(func=cmd_game)
    return parser


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a malformed command line reported as one line (not the usage, then the error)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    """The one place where an expected failure becomes one line on stderr and its exit status (2 for
    bad input, 1 for runs that failed, 130 for an interrupt)."""
    args = build_parser().parse_args(argv)
    try:
        _check_utf8(args)
        return args.func(args)
    except (UserError, RecursionError, MemoryError) as exc:
        print_error(exc)
        return getattr(exc, "exit_status", 2)
    except KeyboardInterrupt:
        # A batch turns Ctrl-C into its own Interrupted error (how many runs are saved); elsewhere
        # nothing is half-written, so one line and the shell's status for SIGINT.
        print("error: interrupted", file=sys.stderr)
        return 130


def _check_utf8(args: argparse.Namespace) -> None:
    """A ConfigError for a file or folder name that is not UTF-8 (a byte the terminal could not
    decode): Parquet, JSON and the manifest record names as UTF-8 text and would fail half-way."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not _is_utf8(text):
                raise ConfigError(f"{name}: {os.fsencode(text)!r} is not valid UTF-8: results record names as"
                                  " UTF-8 text; rename it")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# What to say about failures that are not UserErrors but still come from the input.
INPUT_FAILURES = {
    RecursionError: "the input is nested too deeply to process",
    MemoryError: "out of memory: the input asks for more than this machine has; reduce the sizes",
}


def print_error(exc: Exception) -> None:
    """One line per problem on stderr, with the flags that address it."""
    hint = next((text for kind, text in HINTS.items() if isinstance(exc, kind)), None)
    known = next((text for kind, text in INPUT_FAILURES.items() if isinstance(exc, kind)), None)
    lines = [known] if known else (str(exc).splitlines() or [type(exc).__name__])
    if hint:
        lines[-1] += f"; {hint}"
    for line in lines:
        print(f"error: {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
