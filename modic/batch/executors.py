"""How the cohort engine runs its cases: serially, on a spawn-context process pool that survives crashing
workers, or on a Dask cluster — largest cases first, one thread per worker. Each executor calls
`on_outcome(outcome)` for every finished case and stops when it returns False (cancel)."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modic.compat import parent_alive, spawn_context
from modic.errors import ModicInputError

if TYPE_CHECKING:
    from modic.batch.engine import CaseTask


def process_case(task: CaseTask) -> dict[str, Any]:
    """`modic.batch.engine.process_case` (imported on call: the engine imports this module)."""
    from modic.batch.engine import process_case as run

    return run(task)


def one_line_reason(exc: BaseException, limit: int = 300) -> str:
    from modic.batch.engine import one_line_reason as reason

    return reason(exc, limit)


def _single_thread() -> None:
    """One thread per worker process: ITK, and the BLAS/OpenMP pools numpy and SciPy use (as Dask
    does for its workers); with N workers on N cores, more threads only compete and spin."""
    import SimpleITK as sitk

    if sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() != 1:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return
    threadpool_limits(limits=1)


def _worker_init(parent_pid: int) -> None:
    """Process-pool worker setup: one ITK thread, and exit when the parent process is gone."""
    _single_thread()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if not parent_alive(parent_pid):
                os._exit(1)

    threading.Thread(target=watch, name="modic-parent-watch", daemon=True).start()


def estimated_cost(task: CaseTask) -> int:
    """Bytes of the case's mask files (images when segmenting, or without masks): a cheap proxy for the
    extraction time, which follows the lesion's size (r = 0.92 on 24 phantom cases)."""
    from modic.manifest import IMAGE_COLUMNS, MASK_COLUMNS

    columns = [] if task.segment else ["mask", *MASK_COLUMNS.values()]
    paths = [task.row.get(c) for c in columns]
    if not any(isinstance(p, str) for p in paths):
        paths = [task.row.get(c) for c in IMAGE_COLUMNS.values()]
    total = 0
    for p in paths:
        if isinstance(p, str) and os.path.isfile(p):
            total += os.path.getsize(p)
    return total


def longest_first(tasks: list[CaseTask]) -> list[CaseTask]:
    """Largest estimated cost first (stable), so the last case to start is a short one and no worker
    idles long at the end of a cohort. Results are still reported in manifest order."""
    return sorted(tasks, key=estimated_cost, reverse=True)


def _run_serial(tasks: list[CaseTask], on_outcome: Callable[[dict], bool]) -> bool:
    for task in tasks:
        if not on_outcome(process_case(task)):
            return False
    return True


def _run_pool(tasks: list[CaseTask], n_workers: int, on_outcome: Callable[[dict], bool]) -> bool:
    """Run tasks on a spawn-context process pool; a crashing worker (segfault, OOM kill) costs only
    its own case: the cases that were running are re-run one by one in a fresh pool, and the one
    that crashes again is recorded as failed."""
    queue = deque(tasks)
    while queue:
        status, suspects = _pool_round(queue, n_workers, on_outcome)
        if status == "cancelled":
            return False
        for task in suspects:
            status, _ = _pool_round(deque([task]), 1, on_outcome)
            if status == "cancelled":
                return False
            if status == "broken" and not on_outcome(_crash_outcome(
                    task, "worker process crashed (segmentation fault or killed, e.g. out of memory)")):
                return False
    return True


def _pool_round(queue: deque[CaseTask], n_workers: int, on_outcome: Callable[[dict], bool]
                ) -> tuple[str, list[CaseTask]]:
    """Feed `queue` to one pool, at most `n_workers` cases in flight (so the cases running when a
    worker dies are known). Returns ("done" | "cancelled" | "broken", cases running at the crash)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(max_workers=n_workers, mp_context=spawn_context(),
                             initializer=_worker_init, initargs=(os.getpid(),))
    running: dict[Any, CaseTask] = {}
    clean = False
    try:
        while queue or running:
            while queue and len(running) < n_workers:
                task = queue.popleft()
                try:
                    running[ex.submit(process_case, task)] = task
                except BrokenProcessPool:      # a worker died since the last wait: the pool takes no more work
                    queue.appendleft(task)     # not started: it goes to the next pool
                    if not running:
                        return "broken", []
                    break                      # collect what finished; the crashed cases are the suspects
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                    outcome = _crash_outcome(running[fut], f"worker failed: {one_line_reason(exc)}")
                del running[fut]
                if not on_outcome(outcome):
                    return "cancelled", []
            if broken:
                return "broken", list(running.values())
        clean = True
        return "done", []
    finally:
        if clean:
            ex.shutdown(wait=True)
        else:  # cancelled, interrupted or crashed: do not wait for running cases
            procs = list((getattr(ex, "_processes", None) or {}).values())
            ex.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=5)


def _run_dask(tasks: list[CaseTask], scheduler: str, jobs: int, on_outcome: Callable[[dict], bool]) -> bool:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ModicInputError(f"cannot connect to the Dask scheduler at {scheduler}: "
                                  f"{one_line_reason(exc)} — start one (dask scheduler) or use "
                                  "--scheduler local") from None
    try:
        tasks = [_with(t, single_thread=True) for t in tasks]
        futures = [client.submit(process_case, t, pure=False) for t in tasks]
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        ac = as_completed(futures)
        for fut in ac:
            if not on_outcome(_outcome_of(fut, by_key[fut.key])):
                client.cancel(futures)
                return False
        return True
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _outcome_of(fut: Any, task: CaseTask) -> dict[str, Any]:
    """The result of a finished Dask future; a lost worker becomes a failed case."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - worker died (KilledWorker), pickling error, ...
        return _crash_outcome(task, f"worker process failed ({one_line_reason(exc)}) — crashed or out of memory?")


def _crash_outcome(task: CaseTask, reason: str) -> dict[str, Any]:
    return {"case_id": task.case_id, "key": task.key, "ok": False, "step": "extract", "reason": reason,
            "values": None, "diagnostics": None, "seconds": 0.0}


def _with(task: CaseTask, **changes: Any) -> CaseTask:
    from dataclasses import replace

    return replace(task, **changes)
