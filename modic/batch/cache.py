"""Per-case result cache that makes a cohort run resumable.

Every finished case is one JSON file `<out>.cache/<case file name>.json` holding the case's feature
values, diagnostics and the cache key it was computed with. Files are written atomically (temporary
file in the same folder, then rename), so a process killed at any moment leaves either the complete
previous entry or the complete new one, never a torn file.

The key is the SHA-256 of: the parameter hash, the SHA-256 of every input file of the case, the
segmentation flag (with seed point and segmentation method version), the case's label and the modic
version. Change any of them and the case is recomputed; everything else is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from modic.io import write_text

CACHE_FORMAT = 1
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def cache_dir_for(out_csv: str | os.PathLike) -> Path:
    """The cache folder that belongs to an output table (`features.csv` → `features.csv.cache`)."""
    out = Path(out_csv)
    return out.with_name(out.name + ".cache")


def case_file_name(case_id: str) -> str:
    """A file name for a case id: the id itself when it is safe, else a slug plus a short hash."""
    if _SAFE.match(case_id) and not case_id.endswith(".tmp"):
        return f"{case_id}.json"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).strip("._")[:60] or "case"
    digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}.json"


def case_key(parts: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the key parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CaseCache:
    """The folder of finished cases of one output table."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def path(self, case_id: str) -> Path:
        """Where the entry of `case_id` lives."""
        return self.folder / case_file_name(case_id)

    def load(self, case_id: str, key: str | None) -> dict[str, Any] | None:
        """The cached entry of `case_id` if it exists, is readable and was made with `key`."""
        if key is None:
            return None
        p = self.path(case_id)
        try:
            entry = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT
                or entry.get("key") != key or entry.get("case_id") != case_id
                or not isinstance(entry.get("values"), dict)):
            return None
        return entry

    def store(self, case_id: str, key: str, values: dict[str, float], diagnostics: dict[str, Any],
              info: dict[str, Any] | None = None) -> Path:
        """Write one finished case atomically."""
        entry = {"format": CACHE_FORMAT, "case_id": case_id, "key": key,
                 "values": {k: float(v) for k, v in values.items()},
                 "diagnostics": diagnostics, "info": info or {}}
        text = json.dumps(entry, default=_jsonable, allow_nan=True)
        return write_text(self.path(case_id), text)

    def remove_stale_temp(self) -> int:
        """Delete temporary files left by a killed run (`.<entry>.json.*.tmp`); return how many."""
        if not self.folder.is_dir():
            return 0
        stale = [p for p in self.folder.glob(".*.tmp") if p.is_file()]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def entries(self) -> list[Path]:
        """All entry files currently in the folder."""
        return sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []

    def clear(self) -> int:
        """Delete every entry (and stray temporary files); return how many entries were removed."""
        n = 0
        if not self.folder.is_dir():
            return 0
        for p in self.folder.iterdir():
            if p.is_file() and (p.suffix == ".json" or p.name.startswith(".")):
                n += p.suffix == ".json"
                p.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass
        return n


def _jsonable(value: Any) -> Any:
    """JSON fallback for numpy scalars/arrays, tuples and anything else (as text)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
