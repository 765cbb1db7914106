"""A worker that dies between two submissions breaks the pool at `submit`, not at `result`.

`ProcessPoolExecutor.submit` raises `BrokenProcessPool` once its management thread has seen a worker die. The pool
round used to let that exception escape, so one crashing case could end the whole cohort run (seen once in CI:
`test_crashing_worker_costs_only_its_case`). A fake executor makes the order deterministic: the crashing case is
still running when the next case is submitted, and the pool breaks right then.
"""

import concurrent.futures
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from types import SimpleNamespace

from modic.batch import executors


class _FakePool:
    pools = 0

    def __init__(self, *args, **kwargs):
        type(self).pools += 1
        self.first = type(self).pools == 1
        self.submitted = 0
        self.crash = None

    def submit(self, fn, task):
        self.submitted += 1
        if self.first and self.submitted == 3:      # the crash is noticed while the third case is submitted
            self.crash.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            raise BrokenProcessPool("a child process terminated abruptly")
        fut = Future()
        if task.case_id == "crash":
            if self.first:
                self.crash = fut                        # still running
            else:
                fut.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        else:
            fut.set_result({"case_id": task.case_id, "ok": True})
        return fut

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_pool_broken_at_submit_costs_only_the_crashing_case(monkeypatch):
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _FakePool)
    _FakePool.pools = 0
    tasks = [SimpleNamespace(case_id=c, key=c) for c in ("a", "crash", "b", "c")]
    outcomes = []
    assert executors._run_pool(tasks, 2, lambda o: outcomes.append(o) or True)
    by_case = {o["case_id"]: o for o in outcomes}
    assert sorted(by_case) == ["a", "b", "c", "crash"] and len(outcomes) == 4
    assert all(by_case[c]["ok"] for c in ("a", "b", "c"))
    assert not by_case["crash"]["ok"] and "crashed" in by_case["crash"]["reason"]
