"""Memory a run or a plan of runs needs, estimated from their sizes before anything is built, so
that a size the declared ranges allow but this machine cannot hold is refused with one line
instead of swapping for hours or being killed.

A run holds, per agent, its state arrays and its Mesa agent; per link between holders, the link
arrays (trust, flow history) and the temporary arrays of a month's requests over it; per tie with
the public, its entries in the sparse matrices of public ties; per month, one row of metrics.
Building a sectoral network also draws every candidate pair of a density rule: NumPy's ``choice``
without replacement holds all candidate indices (8 bytes each) when it draws more than 1/50 of
them.  The structural generators and network files go through networkx, which holds a graph as
nested dicts.  So a run needs about

    BASE + PER_AGENT * agents + PER_HOLDER_LINK * holder links + PER_PUBLIC_LINK * public ties
         + PER_MONTH * months
         (+ 8 * candidate pairs drawn densely, for sectoral networks)
         (+ PER_GRAPH_LINK * links + PER_GRAPH_NODE * agents, for networkx graphs)

with the links those the generator is expected to draw (:func:`expected_links`).  The coefficients
are peak resident memory of fresh processes minus the memory before building, measured with
``python -m benchmarks.memory`` (which prints measurement and estimate side by side) and rounded up
about 10%: 300,120 agents with 300,437 public ties took 156 MB and with 1,500,437 ties 227 MB (59
bytes per tie, then 460 per agent); 2,000 departments with 1,000,418 links between them 561 MiB
(587 per holder link: Model 3 keeps each requester's expected fulfilment on a link, and the
authority's queue); a small world of 100,120 agents and 300,360 links 245 MB (181 MB of it
networkx's graph).  Against the speed benchmark's sizes (benchmarks/results.json, memory grown while
building and stepping): 100,000 agents, 322,673 links measured 75 MB, estimated 102 MB; 1,000,000
agents, 3.3 million links, measured 0.64 GiB, estimated 0.80 GiB.

Runs run at once, one per worker process, so the memory that must fit is one run's times the
workers that run at once (:func:`runs_at_once`; one per CPU unless ``--workers`` says otherwise).
The memory that can be had is the smaller of the machine's and its control group's limit: a
container's or a systemd slice's limit, past which the kernel's OOM killer ends the run
(:func:`machine_memory`).

A plan holds one validated scenario per cell (scenario x sweep point) and one run description
per run, and hashes every run's full configuration once (``Plan.digest``): 20,000 replications took
237 MiB (12,400 bytes per run, with Model 3's summary columns) and a 2,000-point grid 46 MiB
(24,000 bytes per cell and its run).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulation.config import Network, Scenario
from simulation.core.metrics import METRICS
from simulation.core.network import Layout, edge_array, layout_of, read_graph_file
from simulation.errors import ConfigError

GIB = 2**30

# Bytes, measured by benchmarks/memory.py (see above).
BASE = 16 * 2**20  # the model's fixed arrays, Mesa, the data collector
PER_AGENT = 500
PER_HOLDER_LINK = 650
PER_PUBLIC_LINK = 64
PER_GRAPH_LINK = 450
PER_GRAPH_NODE = 700
PER_MONTH = len(METRICS) * 48  # a float per metric in the data collector's lists and in the frame
PLAN_PER_CELL = 12_000
PLAN_PER_RUN = 14_000
DENSE_DRAW = 1 / 50  # NumPy's cut-off above which choice(replace=False) holds every candidate

# Most runs one batch (or study) may hold.  Every run's monthly metrics end in one timeseries.parquet
# that report and export read whole: 200,000 runs of a ten-year horizon are 200,000 x 121 months x
# 54 columns x 8 bytes, 10 GiB, besides the plan; and at a second a run (the baseline's size) they
# are 28 core-days.  A larger study is several batches (or a Dask cluster's several folders).
MAX_RUNS = 200_000

# Where the control group's memory limit is read (cgroup v2's memory.max, v1's
# memory/memory.limit_in_bytes), at the root and at this process's own group (/proc/self/cgroup).
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def _pairs(n: int) -> int:
    return max(n, 0) * max(n - 1, 0) // 2


def sectoral_links(layout: Layout, net: Network) -> tuple[float, float, int]:
    """Expected holder links and public ties of a sectoral network (before duplicates are merged,
    so a little high), and the candidate pairs NumPy holds while drawing them (the parts of
    network.sectoral_edges in order)."""
    g, h = layout.government, layout.holders
    ordinary = layout.enterprise - 1
    department_pairs, enterprise_pairs = _pairs(g - 1), _pairs(ordinary)
    holder_links = ((g - 1) + net.department_density * department_pairs + min(net.grid_departments, g) + layout.water
                    + ordinary * min(net.enterprise_departments, g) + net.enterprise_density * enterprise_pairs)
    public_ties = layout.public * min(net.public_degree, h)
    held = sum(pairs for pairs, p in ((department_pairs, net.department_density),
                                      (enterprise_pairs, net.enterprise_density))
               if p > DENSE_DRAW)
    return holder_links, public_ties, held


def expected_links(layout: Layout, net: Network) -> float:
    """Links the network generator is expected to draw for ``layout`` (kind ``file``: not known
    before the file is read; use the file's count)."""
    n = layout.total
    if net.kind == "sectoral":
        holder_links, public_ties, _ = sectoral_links(layout, net)
        return holder_links + public_ties
    if net.kind == "complete":
        return _pairs(n)
    if net.kind == "erdos_renyi":
        return min(1.0, net.mean_degree / max(1, n - 1)) * _pairs(n)
    if net.kind == "small_world":
        return n * min(max(2, round(net.mean_degree)), n - 1) // 2
    if net.kind == "scale_free":
        m = min(net.attachment, n - 1)
        return m * (n - m)
    raise ConfigError(f"network.kind: {net.kind!r}: the links of a network file are counted when it is read")


def run_bytes(layout: Layout, net: Network, months: int, file_links: tuple[int, int] | None = None) -> float:
    """Estimated peak memory of one run (see the module's docstring); ``file_links`` are the holder
    links and public ties of a network file."""
    n = layout.total
    if net.kind == "sectoral":
        holder_links, public_ties, held = sectoral_links(layout, net)
        graph = 8 * held
    else:
        if file_links is not None:
            holder_links, public_ties = file_links
        else:  # structural generators place roles at random: a link joins two holders with chance (h/n)^2
            links = expected_links(layout, net)
            holder_links = links * (layout.holders / max(n, 1)) ** 2
            public_ties = links - holder_links
        graph = PER_GRAPH_LINK * (holder_links + public_ties) + PER_GRAPH_NODE * n
    return (BASE + PER_AGENT * n + PER_HOLDER_LINK * holder_links + PER_PUBLIC_LINK * public_ties
            + PER_MONTH * (months + 1) + graph)


def plan_bytes(cells: int, runs: int) -> float:
    return PLAN_PER_CELL * cells + PLAN_PER_RUN * runs


def machine_memory() -> int:
    """Physical memory, or the control group's memory limit when that is lower."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return min([physical, *cgroup_limits(CGROUP_ROOT, PROC_CGROUP)])


def cgroup_limits(root: Path, proc_cgroup: Path) -> list[int]:
    """The memory limits (bytes) set on this process's control groups, v2 and v1, at the root of
    ``root`` and at the process's own group; "max" (v2) means none, and v1's "none" is a huge number."""
    groups = {""}
    try:
        for line in proc_cgroup.read_text().splitlines():  # "0::/path" (v2), "4:memory:/path" (v1)
            _, controllers, group = line.split(":", 2)
            if controllers in ("", "memory") or "memory" in controllers.split(","):
                groups.add(group.strip("/"))
    except (OSError, ValueError):
        pass
    limits = []
    for group in groups:
        for file in (root / group / "memory.max", root / "memory" / group / "memory.limit_in_bytes"):
            try:
                text = file.read_text().strip()
            except OSError:
                continue
            if text.isdigit():
                limits.append(int(text))
    return limits


def runs_at_once(runs: int, workers: int | None = None, scheduler: str | None = None) -> int:
    """Runs held in this machine's memory at once: one per local worker process (default one per
    CPU, as the batch runner starts), no more than there are runs; on a Dask cluster (``scheduler``
    or $DASK_SCHEDULER_ADDRESS) the runs are on the workers' machines, whose memory is not known here."""
    if scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"):
        return 1
    return max(1, min(workers or os.cpu_count() or 1, runs))


def check_fits(needed: float, what: str, source: str) -> None:
    """A ConfigError naming ``source`` when ``needed`` bytes exceed this machine's memory."""
    have = machine_memory()
    if needed > have:
        raise ConfigError(f"{source}: {what} needs about {_size(needed)} of memory (estimated before building it);"
                          f" this machine has {_size(have)}")


def check_run_fits(layout: Layout, net: Network, months: int, source: str,
                   file_links: tuple[int, int] | None = None, at_once: int = 1) -> None:
    """A ConfigError unless ``at_once`` runs of this size fit in memory together."""
    links = sum(file_links) if file_links is not None else expected_links(layout, net)
    what = f"a run of {layout.total:,} agents, about {links:,.0f} links and {months:,} months"
    if at_once > 1:
        what = f"{at_once} runs at once (one per worker; --workers sets how many), each {what[2:]},"
    check_fits(at_once * run_bytes(layout, net, months, file_links), what, source)


def check_scenario(scenario: Scenario, source: str, months: int | None = None, at_once: int = 1) -> None:
    """What can be checked about a scenario without running it: its network file reads, with
    roles and kinds that add up, and ``at_once`` runs of it fit in this machine's memory together."""
    months = scenario.steps if months is None else months
    if scenario.network.kind != "file":
        check_run_fits(layout_of(scenario.population), scenario.network, months, source, at_once=at_once)
        return
    graph, layout = read_graph_file(scenario.network.path)
    edges = edge_array(graph)
    holder_links = int((edges.max(axis=1) < layout.holders).sum()) if len(edges) else 0
    check_run_fits(layout, scenario.network, months, source, (holder_links, len(edges) - holder_links), at_once)


def check_largest_run(runs: Iterable[Any], at_once: int, source: str) -> None:
    """The largest of ``runs`` (each with a ``scenario`` and its ``steps``) fits ``at_once`` times
    in memory together.  Runs on a network file are sized when their file is read (each run's model
    checks its own)."""
    sized = [(run_bytes(layout_of(run.scenario.population), run.scenario.network, run.steps), run)
             for run in runs if run.scenario.network.kind != "file"]
    if sized:
        _, largest = max(sized, key=lambda pair: pair[0])
        check_scenario(largest.scenario, source, largest.steps, at_once)


def check_plan_fits(cells: int, runs: int, source: str) -> None:
    """A ConfigError when a plan of ``runs`` runs over ``cells`` scenario cells would not fit in
    memory, or holds more than :data:`MAX_RUNS` runs; counted before the plan is built."""
    check_fits(plan_bytes(cells, runs), f"a plan of {runs:,} runs over {cells:,} scenario cells", source)
    if runs > MAX_RUNS:
        raise ConfigError(f"{source}: {runs:,} runs are more than one batch or study may hold (at most {MAX_RUNS:,}:"
                          " their results are read as one table); split it, or use fewer samples or replications")


def _size(n: float) -> str:
    return f"{n / GIB:,.1f} GiB" if n >= GIB / 10 else f"{n / 2**20:,.0f} MiB"
