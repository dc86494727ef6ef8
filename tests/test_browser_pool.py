"""The browser app's shared pool: each session gets a fair share, a cancelled comparison or one whose
tab closed stops its runs, a dead run process is replaced under a running comparison, and a failure
is one line on the page and in the log (browser/compare.py, simulation/experiments/compare.py)."""

import logging
import multiprocessing
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import ipyvuetify as v
import pytest
import solara

import app
from browser import compare as browser_compare
from browser.compare import CompareRequest
from simulation.experiments.compare import plan_comparison, run_comparison
from simulation.experiments.execute import shared_processes


class Counting:
    """An executor of threads that counts the tasks submitted and not finished, and those that ran."""

    def __init__(self, threads: int = 1) -> None:
        self.pool = ThreadPoolExecutor(threads)
        self.lock = threading.Lock()
        self.outstanding = self.most = self.ran = 0

    def submit(self, fn, *args) -> Future:
        def run():
            with self.lock:
                self.ran += 1
            return fn(*args)

        with self.lock:
            self.outstanding += 1
            self.most = max(self.most, self.outstanding)
        future = self.pool.submit(run)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future) -> None:
        with self.lock:
            self.outstanding -= 1


@pytest.fixture(scope="module")
def ecosystem(root):
    from simulation import load_scenario
    return load_scenario(root / "scenarios" / "ecosystem.yaml")


def test_a_session_keeps_at_most_its_share_of_runs_in_flight(ecosystem, baseline):
    pool = Counting(threads=2)
    comparison = run_comparison(plan_comparison(ecosystem, baseline, 4, 3), lambda: pool, in_flight=2)
    assert len(comparison.runs) == 8 and (comparison.runs["status"] == "ok").all()
    assert pool.most == 2


def test_a_comparisons_results_come_back_through_files_not_the_pools_pipe(ecosystem, baseline):
    """What crosses the shared pool is a file name (pool.spooled), so a run process killed while it
    sends its result cannot leave the pool waiting for the rest of a message; the files are removed."""
    pool, returned = Counting(threads=2), []
    submit = pool.submit

    def recording(fn, *args):
        future = submit(fn, *args)
        future.add_done_callback(lambda done: returned.append(done.result()))
        return future

    pool.submit = recording
    comparison = run_comparison(plan_comparison(ecosystem, baseline, 2, 3), lambda: pool)
    assert len(comparison.runs) == 4 and (comparison.runs["status"] == "ok").all()
    assert len(returned) == 4 and all(isinstance(name, str) and name.endswith(".pickle") for name in returned)


def test_a_large_comparison_does_not_queue_ahead_of_a_later_small_one(ecosystem, baseline):
    pool = Counting(threads=1)
    finished = []

    def session(name, runs):
        run_comparison(plan_comparison(ecosystem, baseline, runs, 3), lambda: pool, in_flight=1)
        finished.append(name)

    large = threading.Thread(target=session, args=("large", 8))
    large.start()
    while pool.ran == 0:
        time.sleep(0.01)
    session("small", 1)  # 2 runs, submitted after the large comparison's first
    large.join()
    assert finished == ["small", "large"]


def test_a_cancelled_comparison_cancels_the_runs_not_started(ecosystem, baseline):
    pool = Counting(threads=1)
    stop = threading.Event()
    specs = plan_comparison(ecosystem, baseline, 10, 3)
    assert run_comparison(specs, lambda: pool, lambda done, total: stop.set(), stop.is_set, in_flight=2) is None
    pool.pool.shutdown(wait=True)
    assert pool.ran <= 3 < len(specs) and pool.outstanding == 0


def test_a_session_whose_tab_closes_stops_its_comparison(monkeypatch):
    seen = []

    def comparison_until_cancelled(request, progress, cancelled):  # runs in the task's thread, as compare does
        seen.append("cancelled" if cancelled() else "running")
        seen.append("stopped" if wait_until(cancelled, 60) else "still running")

    monkeypatch.setattr(app, "compare", comparison_until_cancelled)
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    rc.find(v.Btn, children=["Compare with baseline"]).widget.click()
    assert wait_until(lambda: seen, 30) and seen == ["running"]
    rc.close()  # what a closed tab does: Solara closes the session's render context
    assert wait_until(lambda: len(seen) == 2, 90) and seen == ["running", "stopped"]


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_an_unexpected_error_is_one_line_on_the_page_and_one_in_the_log(ecosystem, baseline, caplog):
    class Failing:
        def submit(self, *args):
            raise RuntimeError("no room left\nsecond line")

    request = CompareRequest(plan_comparison(ecosystem, baseline, 2, 3), "test", {})
    with caplog.at_level(logging.ERROR):
        outcome = browser_compare.compare(request, lambda d, t: None, lambda: False, pool=Failing)
    assert outcome.comparison is None and outcome.problem == "The comparison failed: RuntimeError: no room left"
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("A comparison failed: RuntimeError: no room left", None)]


@pytest.mark.slow
def test_a_run_process_killed_under_a_comparison_is_replaced_and_the_comparison_finishes(ecosystem, baseline):
    pool = shared_processes()
    processes = multiprocessing.active_children()
    assert processes
    started = threading.Event()
    specs = plan_comparison(ecosystem, baseline, 4, 60)
    result, pools = {}, []

    def current_pool():
        pools.append(shared_processes())
        return pools[-1]

    def session():
        result["outcome"] = browser_compare.compare(CompareRequest(specs, "test", {}),
                                                    lambda d, t: started.set(), lambda: False, current_pool)

    thread = threading.Thread(target=session)
    thread.start()
    assert wait_until(lambda: started.is_set() or not thread.is_alive(), 180)
    processes[0].kill()
    thread.join(timeout=300)
    outcome = result["outcome"]
    assert outcome.problem is None and len(outcome.comparison.runs) == len(specs)
    assert (outcome.comparison.runs["status"] == "ok").all()
    assert pools[0] is pool and pools[-1] is not pool  # runs went on in the replaced pool
