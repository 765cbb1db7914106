"""Progress reporting: tqdm bar on a terminal, plain log lines otherwise, callback and cancel."""

from __future__ import annotations

import io

from modic.batch.progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_terminal_counts_cached_cases_as_start():
    stream = _Tty()
    p = Progress(5, show=True, stream=stream)
    p.skip(2, "2 of 5 cases already done, skipped")
    p.begin()
    for i in range(3):
        assert p.update(f"c{i} done") is True
    p.close()
    text = stream.getvalue()
    assert "2 of 5 cases already done" in text and "5/5" in text and "6/5" not in text


def test_log_lines_and_callback_cancel():
    stream = io.StringIO()
    seen = []
    p = Progress(3, callback=lambda d, t, m: seen.append((d, t)) or d < 2, show=True, stream=stream)
    p.begin()
    assert p.update("a done") is True
    assert p.update("b done") is False
    assert seen == [(1, 3), (2, 3)]
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[modic extract] 1/3 a done (") and "ETA" in lines[0]
    quiet = io.StringIO()
    Progress(3, show=False, stream=quiet).update("x")
    assert quiet.getvalue() == ""
