"""The batch executor (simulation/experiments/execute.py) when things go wrong: the output folder
belongs to the batch only where it wrote, a resume notices a changed model, signals and dead parents
stop every worker, a dead worker costs only its runs, damaged chunk files are re-run, a full disk
leaves a folder that resumes, and workers without the project say so."""

import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from tqdm import tqdm

from simulation.errors import OutputRefused, OutputUnwritable, ResultsUnreadable, StaleResults
from simulation.experiments.execute import (MAX_ATTEMPTS, _drive, _Stop, _StopRequests, execute, open_executor,
                                            run_chunk)
from simulation.experiments.plan import plan_experiment
from simulation.experiments.results import ChunkStore, export_csv, read_manifest, read_results
from helpers import assert_same_results, cli, command, one_line, results, tree


@pytest.fixture(scope="module")
def finished(tmp_path_factory, write_experiment):
    """A tiny finished batch, one run per chunk: what resumes and repairs must reproduce."""
    folder = tmp_path_factory.mktemp("finished")
    experiment = write_experiment(folder, replications=4, steps=3)
    outcome = execute(plan_experiment(experiment), folder / "out", workers=1, chunk_size=1, progress=False)
    assert outcome.failed == 0
    return experiment, folder / "out"


# --- the output folder: nothing of the user's is touched -------------------------------------------


def users_files(out):
    (out / "report").mkdir(parents=True)
    (out / "report" / "paper.md").write_text("my draft\n", encoding="utf-8")
    (out / "runs.csv").write_text("my,own\n1,2\n", encoding="utf-8")
    return tree(out)


@pytest.mark.parametrize("flag", [None, "--restart", "--replace-stale"])
def test_a_folder_the_batch_did_not_write_is_refused_and_left_untouched(tmp_path, write_experiment, capsys, flag):
    experiment = write_experiment(tmp_path)
    out = tmp_path / "mine"
    before = users_files(out)
    with pytest.raises(OutputRefused):
        execute(plan_experiment(experiment), out, workers=1, restart=flag == "--restart",
                replace_stale=flag == "--replace-stale", progress=False)
    proc = command(capsys, "batch", str(experiment), "--out", str(out), "--quiet", *([flag] if flag else []))
    one_line(proc, 2, f"{out}: holds files this simulator did not write (no _manifest.json)")
    assert tree(out) == before


def test_an_empty_folder_is_used(tmp_path, write_experiment):
    experiment = write_experiment(tmp_path)
    (tmp_path / "empty").mkdir()
    assert execute(plan_experiment(experiment), tmp_path / "empty", workers=1, progress=False).failed == 0


@pytest.mark.slow
def test_a_restart_deletes_only_what_the_batch_wrote(tmp_path, write_experiment):
    experiment = write_experiment(tmp_path, replications=2)
    out = tmp_path / "out"
    execute(plan_experiment(experiment), out, workers=1, chunk_size=1, progress=False)
    export_csv(out)  # ours: recorded in the manifest
    (out / "notes.txt").write_text("the user's\n", encoding="utf-8")
    (out / "report").mkdir()
    (out / "report" / "paper.md").write_text("the user's\n", encoding="utf-8")
    (out / "chunks" / "keep.txt").write_text("the user's\n", encoding="utf-8")
    users = {k: v for k, v in tree(out).items() if k in ("notes.txt", "report/paper.md", "chunks/keep.txt")}
    write_experiment(tmp_path, replications=3)
    with pytest.raises(StaleResults):
        execute(plan_experiment(experiment), out, workers=1, progress=False)
    for option in ({"restart": True}, {"replace_stale": True}):
        write_experiment(tmp_path, replications=2 if option.get("restart") else 3)
        execute(plan_experiment(experiment), out, workers=1, progress=False, **option)
        after = tree(out)
        assert {k: after[k] for k in users} == users
        assert "runs.csv" not in after and "timeseries.csv" not in after  # made from the discarded results
        assert len(pd.read_parquet(out / "runs.parquet")) == (2 if option.get("restart") else 3)


# --- a resume never mixes two models --------------------------------------------------------------


@pytest.mark.e2e  # the model's source edited: a process that imports that copy
def test_an_edited_model_is_a_new_code_version_and_its_folder_is_stale(tmp_path, root, write_experiment):
    source = tmp_path / "src"
    for package in ("simulation", "agents"):
        shutil.copytree(root / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(source)}
    experiment = write_experiment(tmp_path)
    out = tmp_path / "out"
    batch = ["batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet"]
    assert cli(source, *batch, env=env).returncode == 0
    first = read_manifest(out)["code_version"]
    # An edit git would not tell apart from any other uncommitted edit.
    rule = source / "agents" / "government.py"
    rule.write_text(rule.read_text(encoding="utf-8") + "\n# an edit of the model\n", encoding="utf-8")
    refused = cli(source, *batch, env=env)
    one_line(refused, 2, "the code changed")
    replaced = cli(source, *batch, "--replace-stale", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert "the code changed" in replaced.stderr and "(0 finished before)" in replaced.stdout
    assert read_manifest(out)["code_version"] not in (first, None)
    assert read_manifest(out)["git"]  # git describe kept as information


# --- signals and a dead parent stop every worker --------------------------------------------


def children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, limit=120):
    """Poll ``condition``; a generous limit that only keeps a broken build from hanging."""
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def start_long_batch(tmp_path, root, write_experiment):
    experiment = write_experiment(tmp_path, replications=60, steps=40)
    out = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "simulation", "batch", str(experiment), "--out", str(out),
                              "--workers", "2", "--chunk-size", "1", "--quiet"], cwd=root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert wait_until(lambda: len(list((out / "chunks").glob("runs-*.parquet"))) >= 2 or batch.poll() is not None)
    assert batch.poll() is None, batch.communicate()
    helpers = children(batch.pid)
    assert len(helpers) >= 3  # two workers and the resource tracker
    return batch, helpers, out


def clean_up(batch):
    try:
        os.killpg(batch.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    batch.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("sent, status, to_group", [(signal.SIGINT, 130, True), (signal.SIGINT, 130, False),
                                                    (signal.SIGTERM, 143, False)])
def test_ctrl_c_or_sigterm_stops_the_workers_and_says_how_to_resume(tmp_path, root, write_experiment, sent, status,
                                                                   to_group):
    batch, helpers, out = start_long_batch(tmp_path, root, write_experiment)
    try:
        # Ctrl-C in a terminal reaches every process of the batch; a signal from `kill` only the
        # main process, which then has to stop the rest itself.
        (os.killpg if to_group else os.kill)(batch.pid, sent)
        _, stderr = batch.communicate(timeout=120)
        assert batch.returncode == status, stderr
        lines = stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in stderr, stderr
        assert (lines[0].startswith(f"error: {out}: interrupted; ")
                and "runs saved, resume with the same command" in lines[0])
        assert wait_until(lambda: not any(alive(p) for p in helpers)), [p for p in helpers if alive(p)]
    finally:
        clean_up(batch)
    saved = int(lines[0].split("interrupted; ")[1].split()[0])
    assert saved >= 2
    resumed = cli(root, "batch", *batch.args[4:])
    assert resumed.returncode == 0 and f"({saved} finished before)" in resumed.stdout, resumed.stderr


@pytest.mark.slow
@pytest.mark.e2e
def test_workers_exit_when_the_main_process_is_killed(tmp_path, root, write_experiment):
    batch, helpers, _ = start_long_batch(tmp_path, root, write_experiment)
    try:
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(timeout=30)
        assert wait_until(lambda: not any(alive(p) for p in helpers)), [p for p in helpers if alive(p)]
    finally:
        clean_up(batch)


# --- a dead worker costs only its runs ---------------------------------------------------------


def chunk_that_kills_its_worker(chunk):
    """What a run that is OOM-killed every time does to its worker (run 1 here)."""
    if any(spec.run_id == 1 for spec in chunk):
        os.kill(os.getpid(), signal.SIGKILL)
    return run_chunk(chunk)


@pytest.mark.slow
def test_a_run_that_kills_its_worker_every_time_is_recorded_as_failed(tmp_path, write_experiment):
    plan = plan_experiment(write_experiment(tmp_path, replications=4))
    store = ChunkStore(tmp_path / "chunks")
    with open_executor(2, None) as pool:
        pool.task = chunk_that_kills_its_worker
        _drive(plan.runs, pool, None, store, tqdm(disable=True))
        rebuilt = pool.generation
    runs = pd.concat([pd.read_parquet(f) for f in store.runs_files()]).set_index("run_id").sort_index()
    assert list(runs.index) == [0, 1, 2, 3]
    assert list(runs["status"]) == ["ok", "failed", "ok", "ok"]
    assert runs.loc[1, "error"].startswith(f"WorkerDied: the worker process running it died {MAX_ATTEMPTS} times")
    assert rebuilt == MAX_ATTEMPTS  # one new pool per death, and no more tries than that


@pytest.mark.slow
def test_a_pool_that_broke_between_two_results_is_rebuilt(tmp_path, write_experiment):
    # The race CI met: a worker dies while no run reports it yet, so the next submit is refused.
    plan = plan_experiment(write_experiment(tmp_path, replications=4))
    store = ChunkStore(tmp_path / "chunks")
    with open_executor(2, None) as pool:
        worker = pool.executor.submit(os.getpid).result()
        os.kill(worker, signal.SIGKILL)
        assert wait_until(lambda: pool.executor._broken)
        _drive(plan.runs, pool, None, store, tqdm(disable=True))
        rebuilt = pool.generation
    runs = pd.concat([pd.read_parquet(f) for f in store.runs_files()]).set_index("run_id").sort_index()
    assert list(runs.index) == [0, 1, 2, 3] and (runs["status"] == "ok").all()
    assert rebuilt == 1


class HalfWritten:
    """A result whose writing stops half-way: ``then`` runs once part of it is written."""

    def __init__(self, then):
        self.then = then

    def __reduce__(self):
        self.then()
        return HalfWritten, (None,)


def kill_this_process():
    os.kill(os.getpid(), signal.SIGKILL)


def chunk_that_dies_while_sending_its_result(chunk, marker):
    """What a worker OOM-killed while it writes its result does: half of it written (the first time
    run 1 is tried; ``marker`` remembers it across processes)."""
    if any(spec.run_id == 1 for spec in chunk) and not os.path.exists(marker):
        Path(marker).touch()
        return (b"x" * 1_000_000, HalfWritten(kill_this_process))
    return run_chunk(chunk)


@pytest.mark.slow
@pytest.mark.timeout(300, method="thread")  # before the fix, a hang: fail instead
def test_a_worker_killed_while_sending_a_result_is_noticed(tmp_path, write_experiment):
    # CPython's pool waits forever for the rest of the message; the batch must notice the death.
    plan = plan_experiment(write_experiment(tmp_path, replications=4))
    store = ChunkStore(tmp_path / "chunks")
    with open_executor(2, None) as pool:
        pool.task = functools.partial(chunk_that_dies_while_sending_its_result, marker=str(tmp_path / "died"))
        driving = threading.Thread(target=_drive, args=(plan.runs, pool, None, store, tqdm(disable=True)), daemon=True)
        driving.start()
        driving.join(timeout=120)
        hung = driving.is_alive()
        if hung:
            pool.stop_now()  # so that this test process can still exit
        rebuilt = pool.generation
    assert not hung and (tmp_path / "died").exists()
    runs = pd.concat([pd.read_parquet(f) for f in store.runs_files()]).set_index("run_id").sort_index()
    assert list(runs.index) == [0, 1, 2, 3] and (runs["status"] == "ok").all()
    assert rebuilt == 1


def chunk_that_stalls_while_sending_its_result(chunk, marker):
    """Half a result written, then nothing: where Ctrl-C's kill of the workers can find one."""
    return (b"x" * 1_000_000, HalfWritten(functools.partial(stall, marker)))


def stall(marker):
    Path(marker).touch()
    time.sleep(600)


@pytest.mark.timeout(300, method="thread")  # before the fix, a hang: fail instead
def test_stopping_workers_that_were_sending_a_result_returns(tmp_path, write_experiment):
    plan = plan_experiment(write_experiment(tmp_path))
    marker = tmp_path / "stalled"
    with open_executor(1, None) as pool:
        pool.task = functools.partial(chunk_that_stalls_while_sending_its_result, marker=str(marker))
        pool.submit(plan.runs)
        assert wait_until(marker.exists)
        stopping = threading.Thread(target=pool.stop_now, daemon=True)
        stopping.start()
        stopping.join(timeout=60)
        assert not stopping.is_alive()


def test_a_signal_inside_the_executor_stops_the_batch_as_soon_as_the_call_returns():
    requests = _StopRequests()
    with pytest.raises(_Stop) as stopped:
        with requests.deferred():
            requests.handle(signal.SIGTERM, None)  # recorded, not raised, inside the executor
            returned = True
    assert returned and stopped.value.signal_number == signal.SIGTERM
    with pytest.raises(_Stop):
        requests.handle(signal.SIGINT, None)  # elsewhere, at once


@pytest.mark.slow
@pytest.mark.e2e
def test_a_worker_killed_mid_batch_does_not_abort_it(tmp_path, root, write_experiment):
    batch, helpers, out = start_long_batch(tmp_path, root, write_experiment)
    try:
        workers = [p for p in helpers if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_text()]
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = batch.communicate(timeout=600)
    finally:
        clean_up(batch)
    assert batch.returncode == 0, stderr
    runs, _ = results(out)
    assert sorted(runs["run_id"]) == list(range(60)) and (runs["status"] == "ok").all()


# --- damaged chunk and results files --------------------------------------------------------


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_chunk_is_discarded_and_its_runs_run_again(tmp_path, finished, capsys):
    experiment, reference = finished
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    for victim in ("runs-00001.parquet", "timeseries-00002.parquet"):
        truncate(out / "chunks" / victim)
    (out / "runs.parquet").unlink()  # as if killed before the consolidation
    outcome = execute(plan_experiment(experiment), out, workers=1, chunk_size=1, progress=False)
    assert outcome.failed == 0 and outcome.skipped == 2
    assert ("runs-00001.parquet: unreadable (truncated or damaged); discarded, its runs run again"
            in capsys.readouterr().err)
    assert_same_results(reference, out)


@pytest.mark.parametrize("verb", ["report", "export"])
@pytest.mark.parametrize("damaged", ["_manifest.json", "runs.parquet", "timeseries.parquet"])
def test_report_and_export_of_a_damaged_folder_give_one_line(tmp_path, finished, capsys, verb, damaged):
    _, reference = finished
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    truncate(out / damaged)
    with pytest.raises(ResultsUnreadable):
        (read_results if verb == "report" else export_csv)(out)
    one_line(command(capsys, verb, str(out)), 2, f"{out / damaged}: unreadable (")


def test_a_damaged_runs_file_of_a_finished_batch_is_rebuilt(tmp_path, finished):
    experiment, reference = finished
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    truncate(out / "runs.parquet")
    assert execute(plan_experiment(experiment), out, workers=1, progress=False).failed == 0
    assert_same_results(reference, out)


# --- an output that cannot be written ----------------------------------------------------------


def test_an_output_that_is_a_file(tmp_path, finished, capsys):
    experiment, _ = finished
    target = tmp_path / "a_file"
    target.write_text("mine\n", encoding="utf-8")
    one_line(command(capsys, "batch", str(experiment), "--out", str(target), "--quiet"), 2,
             f"{target}: is a file, not a folder")
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_a_read_only_output(tmp_path, finished, monkeypatch, capsys):
    experiment, _ = finished
    if os.geteuid() != 0:  # permissions hold: a real read-only folder
        (tmp_path / "ro").mkdir(mode=0o555)
        proc = command(capsys, "batch", str(experiment), "--out", str(tmp_path / "ro" / "out"), "--quiet")
        one_line(proc, 2, "cannot write here (Permission denied)")
    # root ignores permissions: a read-only file system, as the OS reports it
    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(OutputUnwritable, match=r"out: cannot write here \(Read-only file system\)"):
        execute(plan_experiment(experiment), tmp_path / "out", workers=1, progress=False)


def test_a_full_disk_stops_the_batch_with_one_line_and_it_resumes(tmp_path, finished, monkeypatch):
    experiment, reference = finished
    out = tmp_path / "out"
    real = pd.DataFrame.to_parquet
    writes = []

    def fills_the_disk(frame, path, *args, **kwargs):
        writes.append(path)
        if len(writes) > 5:  # a few chunks land, then the disk is full half-way through a file
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fills_the_disk)
    with pytest.raises(OutputUnwritable) as caught:
        execute(plan_experiment(experiment), out, workers=1, chunk_size=1, progress=False)
    message = str(caught.value)
    assert message.startswith(f"{out}: the disk is full (No space left on device); ")
    assert message.endswith("of 4 runs saved, resume with the same command") and "\n" not in message
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no half-written file left
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    outcome = execute(plan_experiment(experiment), out, workers=1, chunk_size=1, progress=False)
    assert outcome.failed == 0 and outcome.skipped >= 2
    assert_same_results(reference, out)


# --- Dask workers without the project ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.e2e
def test_dask_workers_without_the_project_say_so(tmp_path, root, finished):
    from test_batch import free_port, stop

    experiment, _ = finished
    address = f"tcp://127.0.0.1:{free_port()}"
    # A worker whose Python cannot import the project, as on a machine where it was never installed.
    worker = ("import sys; sys.modules['simulation'] = sys.modules['agents'] = None; "
              "from distributed.cli.dask_worker import main; sys.argv[0] = 'dask-worker'; main()")
    started = []
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        started.append(subprocess.Popen(
            [sys.executable, "-c", worker, address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
             "--no-nanny", "--no-dashboard"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        proc = cli(root, "batch", str(experiment), "--out", str(tmp_path / "out"), "--scheduler", address, "--quiet")
    finally:
        for process in reversed(started):
            stop(process)
    one_line(proc, 2, "cannot import the project (")
    assert "install it on every worker with pip" in proc.stderr
