"""Output safety: modic never deletes, empties or replaces a file it did not write.

Every folder modic writes holds a record, `.modic-outputs.json`, of the files it wrote there (relative
path, size, modification time, SHA-256, command, modic version). The rules (docs/OUTPUTS.md):

- Output folder (`atomic_directory`): new or empty → written. Holding only files that the same command
  wrote there and that are unchanged → replaced as a whole. Holding anything else (the user's files,
  files modic wrote but the user changed, another command's outputs) → refused with one line, unless
  `overwrite=True`: then modic's own unchanged files are replaced and every other file is left exactly
  as it is; a new output that would land on such a file is refused. The folder is built in a hidden
  sibling and moved into place only when complete.
- Output file (`check_output_file` + `record_files`): written atomically; an existing file is replaced
  only when modic wrote it (recorded and unchanged) or with `overwrite=True`.
- Never: the current folder or one above it, the home folder, the root, a path that is an existing
  file (folder outputs) or folder (file outputs), an unwritable place, an input (or a folder holding an
  input, or a path inside an input folder). These are refused before any work is done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from modic.errors import ModicInputError

RECORD_NAME = ".modic-outputs.json"
RECORD_FORMAT = "modic-outputs/1"
PathLike = str | os.PathLike


def _version() -> str:
    from modic import __version__

    return __version__


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _entry(path: Path, command: str | None) -> dict:
    st = path.stat()
    return {"sha256": _sha256(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "command": command}


def _unchanged(path: Path, entry: dict) -> bool:
    """True when `path` still holds what the record says modic wrote (size+mtime, else SHA-256)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not path.is_file() or st.st_size != entry.get("size"):
        return False
    if st.st_mtime_ns == entry.get("mtime_ns"):
        return True
    return _sha256(path) == entry.get("sha256")


def read_record(folder: PathLike) -> dict:
    """The record of `folder` (empty when there is none or it cannot be read)."""
    p = Path(folder) / RECORD_NAME
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT or not isinstance(rec.get("files"), dict):
        return {}
    rec.setdefault("dirs", [])
    return rec


def _write_record(folder: Path, record: dict) -> None:
    record = {"format": RECORD_FORMAT, **record, "modic_version": _version(),
              "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    fd, tmp = tempfile.mkstemp(prefix=f"{RECORD_NAME}.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
    os.replace(tmp, folder / RECORD_NAME)


@dataclass
class FolderState:
    """What an existing folder holds: modic's own unchanged files and everything else."""

    exists: bool
    owned: list[str] = field(default_factory=list)  # relative paths recorded in this folder's own record
    nested: list[str] = field(default_factory=list)  # files owned through a sub-folder's record
    foreign: list[str] = field(default_factory=list)  # anything modic did not write (or that was changed)
    command: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.owned or self.nested or self.foreign)


def inspect_folder(folder: PathLike) -> FolderState:
    """Classify every file under `folder`; sub-folders with their own record are judged by it."""
    folder = Path(folder)
    if not folder.is_dir():
        return FolderState(exists=folder.exists())
    record = read_record(folder)
    state = FolderState(exists=True, command=record.get("command"))
    files, owned_dirs = record.get("files", {}), set(record.get("dirs", []))

    def walk(d: Path, rel: str) -> None:
        try:
            children = sorted(d.iterdir())
        except OSError:
            state.foreign.append(rel or ".")
            return
        for child in children:
            r = f"{rel}{child.name}"
            if not rel and child.name == RECORD_NAME:
                continue
            if child.is_dir() and not child.is_symlink():
                if r in owned_dirs:
                    state.owned.append(r + "/")
                elif (child / RECORD_NAME).is_file():
                    sub = inspect_folder(child)
                    state.nested += [f"{r}/{f}" for f in sub.owned + sub.nested]
                    state.foreign += [f"{r}/{f}" for f in sub.foreign]
                else:
                    walk(child, r + "/")
            elif r in files and _unchanged(child, files[r]):
                state.owned.append(r)
            else:
                state.foreign.append(r)

    walk(folder, "")
    return state


# ---------------------------------------------------------------- hazards


def _shown(path: Path) -> str:
    return str(path)


def _resolved(path: PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path)))).resolve()


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_location(path: PathLike, kind: str = "folder", inputs: Iterable[PathLike | None] = (),
                   option: str = "--out") -> Path:
    """Refuse dangerous output locations (one-line `ModicInputError`); nothing is created.

    kind: "folder" or "file". inputs: the files/folders the command reads (None entries ignored).
    """
    if path is None or not str(os.fspath(path)).strip():
        raise ModicInputError(f"{option} is empty — give an output {kind}")
    p = Path(os.path.expanduser(os.fspath(path)))
    r = _resolved(p)
    if r.parent == r:
        raise ModicInputError(f"{option} {p} is the file-system root — choose a new folder for the outputs")
    home = _resolved(Path.home())
    if r == home:
        raise ModicInputError(f"{option} {p} is your home folder — choose a new folder inside it for the outputs")
    if r in home.parents:
        raise ModicInputError(f"{option} {p} is a folder above your home folder — choose a new folder for the "
                              "outputs")
    cwd = _resolved(Path.cwd())
    if kind == "folder" and (r == cwd or r in cwd.parents):
        raise ModicInputError(f"{option} {p} is the current folder or one above it — choose a new folder "
                              "for the outputs (e.g. results)")
    if kind == "folder" and r.exists() and not r.is_dir():
        raise ModicInputError(f"{option} {p} exists and is a file, not a folder — choose a new folder")
    if kind == "file" and r.is_dir():
        raise ModicInputError(f"{option} {p} is a folder — give a file name, e.g. {p / 'out.csv'}")
    for inp in inputs:
        if inp is None or not str(inp).strip():
            continue
        i = _resolved(inp)
        if r == i:
            raise ModicInputError(f"{option} {p} is also an input of this command — choose another output "
                                  f"{kind}; modic never writes over its inputs")
        if kind == "folder" and _inside(i, r):
            raise ModicInputError(f"{option} {p} contains the input {inp} — choose a new folder for the "
                                  "outputs; modic never writes where its inputs are")
        if i.is_dir() and _inside(r, i):
            raise ModicInputError(f"{option} {p} lies inside the input folder {inp} — choose an output "
                                  "outside it")
    probe = r if (kind == "folder" and r.is_dir()) else r.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ModicInputError(f"{option} {p} cannot be created: {probe} is a file — choose another location")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ModicInputError(f"{option} {p} is not writable ({probe} does not allow writing) — choose "
                              "another location")
    return r


def _refusal(p: Path, state: FolderState, command: str | None, option: str) -> str | None:
    """The one-line refusal for writing into an existing folder without overwrite (None: allowed)."""
    if not state.exists or state.empty:
        return None
    if state.foreign:
        shown = ", ".join(state.foreign[:3]) + (" …" if len(state.foreign) > 3 else "")
        return (f"{p} holds files modic did not write ({len(state.foreign)}: {shown}); choose an empty or new "
                f"folder, or pass --overwrite (replaces only modic's own files there)")
    if command is not None and state.command != command:
        what = f"`modic {state.command}`" if state.command else "other modic commands"
        return (f"{p} holds the outputs of {what}; choose an empty or new folder, or pass --overwrite "
                "to replace them")
    return None


def check_output_dir(path: PathLike, overwrite: bool = False, inputs: Iterable[PathLike | None] = (),
                     command: str | None = None, option: str = "--out") -> Path:
    """Check, before any work, that `path` may receive a command's output folder. Creates nothing."""
    r = check_location(path, "folder", inputs, option)
    if not overwrite:
        msg = _refusal(Path(os.fspath(path)), inspect_folder(r), command, option)
        if msg:
            raise ModicInputError(msg)
    return r


def check_output_file(path: PathLike, overwrite: bool = False, inputs: Iterable[PathLike | None] = (),
                      companions: Iterable[PathLike] = (), option: str = "--out") -> Path:
    """Check that `path` (and its companion files, e.g. `<out>.diagnostics.json`) may be written.

    An existing file is replaced only when modic wrote it (recorded, unchanged) or with `overwrite`.
    """
    r = check_location(path, "file", inputs, option)
    for target in (r, *(_resolved(c) for c in companions)):
        if target != r:
            check_location(target, "file", inputs, option)
        if target.exists() and not overwrite and not _owned_file(target):
            raise ModicInputError(f"{target} exists and was not written by modic (or was changed since) — "
                                  "choose a new file name, or pass --overwrite to replace it")
    return r


def _owned_file(path: Path) -> bool:
    entry = read_record(path.parent).get("files", {}).get(path.name)
    return entry is not None and _unchanged(path, entry)


def record_files(paths: Iterable[PathLike], command: str | None = None, dirs: Iterable[PathLike] = (),
                 folder_command: str | None = None) -> None:
    """Add files modic just wrote (and folders it owns wholly, e.g. a cache) to their folders' records."""
    groups: dict[Path, tuple[list[Path], list[Path]]] = {}
    for p in paths:
        p = _resolved(p)
        groups.setdefault(p.parent, ([], []))[0].append(p)
    for d in dirs:
        d = _resolved(d)
        groups.setdefault(d.parent, ([], []))[1].append(d)
    for folder, (files, owned_dirs) in groups.items():
        if not folder.is_dir():
            continue
        record = read_record(folder)
        rec_files = dict(record.get("files", {}))
        for f in files:
            if f.is_file():
                rec_files[f.name] = _entry(f, command)
        rec_dirs = sorted(set(record.get("dirs", [])) | {d.name for d in owned_dirs})
        cmd = record.get("command") or folder_command
        try:
            _write_record(folder, {"command": cmd, "files": rec_files, "dirs": rec_dirs})
        except OSError:  # the outputs are written; only the record could not be updated
            pass


# ---------------------------------------------------------------- atomic output folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _make_parents(folder: Path) -> list[Path]:
    """Create missing parent folders; return those created (deepest last) so a failure can remove them."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for d in reversed(missing):
        d.mkdir()
    return list(reversed(missing))


def _remove_created(created: list[Path]) -> None:
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def atomic_directory(path: PathLike, overwrite: bool = False, *, inputs: Iterable[PathLike | None] = (),
                     command: str | None = None) -> Iterator[Path]:
    """Build an output folder in a hidden sibling; move it into place only when complete.

    Follows the module's rules: an existing folder holding anything modic did not write is refused (one
    line, nothing touched) unless `overwrite`, which replaces only modic's own unchanged files. The
    record `.modic-outputs.json` of the files written is added to the folder.
    """
    p = Path(os.fspath(path))
    shown = p
    p = check_output_dir(p, overwrite, inputs, command)
    created: list[Path] = []
    try:
        created = _make_parents(p.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.partial-", dir=p.parent))
    except OSError as exc:
        _remove_created(created)
        raise ModicInputError(f"cannot create output folder {shown}: {exc.strerror} — choose a writable "
                              "location") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700; give the folder the usual permissions
        new = [f for f in _files_under(tmp) if f != RECORD_NAME]
        record = {"command": command, "files": {}, "dirs": []}
        state = inspect_folder(p)
        if not overwrite:
            msg = _refusal(shown, state, command, "--out")  # the folder may have changed meanwhile
            if msg:
                raise ModicInputError(msg)
        owned = set(state.owned)
        clash = [f for f in new if (p / f).exists() and f not in owned]
        clash += [f for f in new for parent in Path(f).parents
                  if parent != Path(".") and (p / parent).exists() and not (p / parent).is_dir()]
        if clash:
            raise ModicInputError(f"{shown}/{clash[0]} would be replaced but modic did not write it (or it was "
                                  "changed since) — move it away or choose a new output folder")
        for f in new:
            record["files"][f] = _entry(tmp / f, command)
        if not state.exists or (state.empty and not any(p.iterdir())):
            if state.exists:
                p.rmdir()
            _write_record(tmp, record)
            os.replace(tmp, p)
        elif not state.foreign and not state.nested and not _unrecorded_dirs(p, state):
            _write_record(tmp, record)
            old = p.with_name(f".{p.name}.old-{os.getpid()}")
            os.replace(p, old)
            os.replace(tmp, p)
            shutil.rmtree(old, ignore_errors=True)
        else:
            _merge_into(tmp, p, new, [f for f in state.owned if not f.endswith("/")])
            keep = read_record(p)
            record["dirs"] = [d for d in keep.get("dirs", []) if (p / d).is_dir() and d + "/" not in new]
            _write_record(p, record)
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_created(created)
        raise


def _unrecorded_dirs(folder: Path, state: FolderState) -> bool:
    """True when `folder` holds (empty) sub-folders that no recorded file explains (kept by a swap-free merge)."""
    needed = {folder / Path(f).parent for f in state.owned}
    return any(d.is_dir() and not any(_inside(n, d) for n in needed) for d in folder.rglob("*") if d.is_dir())


def _merge_into(tmp: Path, dest: Path, new: list[str], old_owned: list[str]) -> None:
    """Move the new files in one by one (each an atomic rename) and delete modic's old files that are not
    replaced; nothing else in `dest` is touched."""
    for f in new:
        target = dest / f
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / f, target)
    for f in old_owned:
        if f in new:
            continue
        with contextlib.suppress(OSError):
            (dest / f).unlink()
        parent = (dest / f).parent
        while parent != dest and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def claim_folder(folder: PathLike, command: str) -> Path:
    """Create `folder` (after `check_output_dir`) and record that `command` writes it, for commands that fill
    a folder step by step (`modic demo`); the files are added with `record_files` as they are written."""
    folder = Path(os.fspath(folder))
    folder.mkdir(parents=True, exist_ok=True)
    record = read_record(folder)
    if record.get("command") != command:
        _write_record(folder, {"command": command, "files": record.get("files", {}),
                               "dirs": record.get("dirs", [])})
    return folder
