"""Helpers of the bad-input battery (a module of its own name, so test files of other folders with their
own conftest.py never pick these up by mistake)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hashes(folder: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file (and '<dir>' for every folder) under `folder`."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Run `modic <argv>` in-process; (exit code, stderr)."""
    from modic.cli import main

    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    return rc, capsys.readouterr().err


def assert_one_line_error(rc, err: str, command: str, expect: str | None = None, limit: int = 400) -> None:
    assert rc == 2, f"exit code {rc}, stderr: {err!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"stderr is not one line: {err!r}"
    assert lines[0].startswith(f"modic {command}: error:"), lines[0]
    assert "Traceback" not in err and len(lines[0]) <= limit, lines[0]
    if expect:
        assert expect.lower() in lines[0].lower(), f"{expect!r} not in {lines[0]!r}"
