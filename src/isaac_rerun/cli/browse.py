"""``isaac-rerun ls`` and ``isaac-rerun view``: find a snippet among hundreds, and open it.

Both read the snippets' own description: the recorder writes each snippet's recording property
``/__properties/<snippet name>`` (why it was recorded, which envs, and once finished its frames, time span and whole
episodes with their returns, lengths and why they ended). Every fact shown comes from there; a snippet's name (and
its file's) is only a name, so a renamed file is listed as it was recorded. Files written by isaac-rerun 0.2.0 (no
``episode_reasons`` nor ``iteration``) are listed too. A folder of one ``.rrd`` per snippet and a single ``.rrd``
holding many snippets (``save_path=``) read the same way. Only the properties are read
(``rerun.chunk.RrdReader(...).stream().filter(content="/__properties/**")``), not the scene data. Nothing here
imports Isaac Lab, torch or an RL framework.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from isaac_rerun.cli.options import CliError, positive_int

__all__ = ["METRICS_SUFFIX", "Snippet", "ls", "read_snippets", "scan", "select", "sort_snippets", "view"]

METRICS_SUFFIX = "-metrics.rrd"
"""Training-curve files (:class:`~isaac_rerun.outputs.MetricsLog`): listed apart, never opened as snippets."""

PROPERTIES = "/__properties"
_SORTS = ("time", "return", "name", "size")


@dataclass
class Snippet:
    """One snippet as its recording describes itself (see the module docstring); None where it says nothing."""

    name: str
    path: Path
    trigger: str | None = None
    ident: int | None = None
    """The step, episode or iteration that started it (a kept episode's episode id, a NaN dump's step), where the
    recording says (not in files written by isaac-rerun 0.2.0)."""
    envs: list[int] = field(default_factory=list)
    run: str = ""
    frames: int | None = None
    sim_time: float | None = None
    first_env_step: int | None = None
    last_env_step: int | None = None
    step_dt: float | None = None
    complete: bool | None = None
    episode_envs: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_reasons: list[str] | None = None
    """Why each whole episode ended (aligned with ``episode_envs``): its termination term(s), several joined by
    ``+``; None where the recording does not say (isaac-rerun 0.2.0, or recorded without the terminations signal)."""
    iteration: int | None = None
    """The training iteration it was recorded in, where the recording says."""
    size: int = 0
    """Bytes of the file it is in."""
    in_file: int = 1
    """Snippets in that file (more than one: a ``save_path`` recording)."""
    started: float = 0.0
    """When its recording started (seconds since the epoch; the file's modification time where unknown)."""

    @property
    def worst_return(self) -> float:
        """The lowest finite episode return it holds (``inf`` without one: sorted last by ``--sort return``)."""
        finite = [r for r in self.episode_returns if r is not None and math.isfinite(r)]
        return min(finite) if finite else math.inf

    @property
    def why(self) -> str:
        """The trigger as recorded, with what started it where the recording says: ``iteration 50``,
        ``episode 12``; an episode kept after the fact with the filter's reason (the recorder writes
        ``kept:<reason>``): ``kept: worst, episode 4``; a NaN dump: ``nan at step 1234``."""
        trigger = self.trigger or "?"
        if trigger.startswith("kept"):
            reason = trigger.partition(":")[2].strip()
            text = f"kept: {reason}" if reason else "kept"
            return text if self.ident is None else f"{text}, episode {self.ident}"
        if self.ident is not None and trigger in ("step", "episode", "iteration"):
            return f"{trigger} {self.ident}"
        if self.ident is not None and trigger == "nan":
            return f"nan at step {self.ident}"
        return trigger

    def ended_by(self, term: str) -> bool:
        """True when one of its whole episodes ended by the termination term ``term`` (alone or with others)."""
        return any(term in (reason or "").split("+") for reason in self.episode_reasons or ())

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = os.fspath(self.path)
        out["episode_returns"] = [None if r is None or not math.isfinite(r) else r for r in self.episode_returns]
        return out


# ---------------------------------------------------------------------------------------------------------- read
def _reader() -> Any:
    try:
        from rerun.chunk import RrdReader
    except ImportError:  # rerun-sdk 0.23 (the Isaac Lab 2.x stack) has no chunk reader
        raise CliError(
            "reading the snippets' descriptions needs a rerun-sdk with rerun.chunk (0.41 has it); on an older "
            "stack, list the files with a newer rerun-sdk (`pip install rerun-sdk isaac-rerun`), e.g. on your laptop"
        ) from None
    return RrdReader


def read_snippets(path: Path) -> list[Snippet]:
    """The snippets in one ``.rrd`` file, from their ``/__properties/<name>`` (in the order they started); a file
    without any (not written by isaac-rerun) is one :class:`Snippet` named after the file, with unknown fields."""
    reader = _reader()(str(path))
    size = path.stat().st_size
    started = path.stat().st_mtime
    rows: dict[str, list[tuple[bytes, dict[str, Any]]]] = {}
    order: dict[str, bytes] = {}
    for store in reader.recordings():
        for chunk in reader.stream(store=store).filter(content=f"{PROPERTIES}/**").to_chunks():
            entity = chunk.entity_path
            batch = chunk.to_record_batch()
            names = batch.schema.names
            columns = {n: batch.column(n).to_pylist() for n in names}
            row_ids = columns.pop("rerun.controls.RowId", [b""] * batch.num_rows)
            for i, row_id in enumerate(row_ids):
                key = bytes(row_id) if row_id is not None else b""
                if entity == PROPERTIES:
                    start = _scalar(columns.get("RecordingInfo:start_time", [None] * batch.num_rows)[i])
                    if start:
                        started = _seconds(start)
                    continue
                if not entity.startswith(PROPERTIES + "/"):
                    continue
                name = entity[len(PROPERTIES) + 1 :]
                values = {n: v[i] for n, v in columns.items() if v[i] is not None}
                # a property written twice (at the start, again when finished): the later row wins, field by field
                rows.setdefault(name, []).append((key, values))
                order[name] = min(order[name], key) if name in order else key
    snippets = []
    for name in sorted(rows, key=lambda n: order[n]):
        merged: dict[str, Any] = {}
        for _, values in sorted(rows[name], key=lambda kv: kv[0]):  # row ids grow with time
            merged.update(values)
        snippets.append(_snippet(_unescape(name), path, merged, size, started))
    if not snippets:
        snippets.append(Snippet(name=path.stem, path=path, size=size, started=started))
    for s in snippets:
        s.in_file = len(snippets)
    return snippets


def _seconds(value: Any) -> float:
    """A Rerun timestamp (ns since the epoch, or a datetime) as seconds."""
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value) * 1e-9


def _unescape(name: str) -> str:
    return name.replace("\\", "")


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if len(value) == 1 else (value or None)
    return value


def _snippet(name: str, path: Path, values: dict[str, Any], size: int, started: float) -> Snippet:
    def get(key: str, cast: Any) -> Any:
        value = _scalar(values.get(key))
        if value is None:
            return None
        try:
            return cast(value)
        except (TypeError, ValueError):
            return None

    def items(key: str, cast: Any) -> list[Any]:
        value = values.get(key)
        if value is None:
            return []
        return [cast(v) if v is not None else None for v in (value if isinstance(value, list) else [value])]

    return Snippet(
        name=name,
        path=path,
        trigger=get("trigger", str),
        ident=get("ident", int),
        envs=items("envs", int),
        run=get("run", str) or "",
        frames=get("frames", int),
        sim_time=get("sim_time", float),
        first_env_step=get("first_env_step", int),
        last_env_step=get("last_env_step", int),
        step_dt=get("step_dt", float),
        complete=get("complete", bool),
        episode_envs=items("episode_envs", int),
        episode_returns=items("episode_returns", float),
        episode_lengths=items("episode_lengths", int),
        episode_reasons=items("episode_reasons", str) if "episode_reasons" in values else None,
        iteration=get("iteration", int),
        size=size,
        started=started,
    )


def scan(path: Path, *, recursive: bool = False) -> tuple[list[Snippet], list[Path], list[tuple[Path, str]]]:
    """Every snippet under ``path`` (a folder of ``.rrd`` files, or one file): ``(snippets, metrics files,
    unreadable files with why)``."""
    if not path.exists():
        raise CliError(f"PATH: {path} does not exist")
    files = [path] if path.is_file() else sorted(path.rglob("*.rrd") if recursive else path.glob("*.rrd"))
    snippets: list[Snippet] = []
    metrics: list[Path] = []
    bad: list[tuple[Path, str]] = []
    for f in files:
        if f.name.endswith(METRICS_SUFFIX):
            metrics.append(f)
            continue
        try:
            snippets += read_snippets(f)
        except CliError:
            raise
        except Exception as exc:  # a truncated or foreign file: say so, list the rest
            bad.append((f, f"{type(exc).__name__}: {exc}"))
    return snippets, metrics, bad


def _natural(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def sort_snippets(snippets: Sequence[Snippet], by: str = "time") -> list[Snippet]:
    """``time``: newest first; ``return``: worst (lowest) episode return first; ``name``: by name (numbers in
    order); ``size``: largest file first."""
    if by == "time":
        return sorted(snippets, key=lambda s: (s.started, s.first_env_step or 0, _natural(s.name)), reverse=True)
    if by == "return":
        return sorted(snippets, key=lambda s: (s.worst_return, _natural(s.name)))
    if by == "name":
        return sorted(snippets, key=lambda s: (_natural(s.name), os.fspath(s.path)))
    if by == "size":
        return sorted(snippets, key=lambda s: (-s.size, _natural(s.name)))
    raise ValueError(f"`by` must be one of {_SORTS}, got {by!r}")


# ---------------------------------------------------------------------------------------------------------- ls
def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _envs(envs: Sequence[int]) -> str:
    if not envs:
        return "?"
    ids = sorted(envs)
    if len(ids) > 2 and ids == list(range(ids[0], ids[-1] + 1)):
        return f"{ids[0]}-{ids[-1]}"
    text = ",".join(str(e) for e in ids)
    return text if len(text) <= 16 else f"{text[:13]}... ({len(ids)})"


def _per_env(envs: Sequence[int], values: Sequence[Any], fmt: str, limit: int = 4) -> str:
    if not values:
        return "-"
    several = len(set(envs)) > 1
    parts = []
    for env, value in list(zip(envs, values, strict=False))[:limit]:
        text = "nan" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, fmt)
        parts.append(f"{env}:{text}" if several else text)
    more = len(values) - limit
    return " ".join(parts) + (f" +{more}" if more > 0 else "")


def _rows(snippets: Sequence[Snippet], root: Path) -> list[list[str]]:
    rows = []
    for s in snippets:
        name = s.name
        try:
            where = s.path.relative_to(root) if root.is_dir() else Path(s.path.name)
        except ValueError:
            where = s.path
        if s.in_file > 1:
            name = f"{where}:{s.name}"
        elif where.stem != s.name or where.parent != Path("."):
            name = os.fspath(where.with_suffix(""))
        rows.append(
            [
                name,
                s.why + ("" if s.complete in (None, True) else " (partial)"),
                _envs(s.envs),
                "?" if s.frames is None else str(s.frames),
                "?" if s.sim_time is None else f"{s.sim_time:.2f} s",
                _per_env(s.episode_envs, s.episode_returns, ".2f"),
                _per_env(s.episode_envs, s.episode_lengths, "d"),
                _ended(s),
                _size(s.size) + ("*" if s.in_file > 1 else ""),
            ]
        )
    return rows


def _ended(s: Snippet) -> str:
    """The ``ended`` column: why each whole episode ended; ``?`` where the recording does not say (an empty
    reason: the recorder did not know it)."""
    if s.episode_reasons is None:
        return "?" if s.episode_envs else "-"
    return _per_env(s.episode_envs, [reason or "?" for reason in s.episode_reasons], "s")


def format_table(snippets: Sequence[Snippet], root: Path) -> str:
    """The ``ls`` table."""
    header = ["name", "trigger", "envs", "frames", "sim time", "episode returns", "episode lengths", "ended", "size"]
    rows = _rows(snippets, root)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 8}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def ls(args: argparse.Namespace) -> int:
    """``isaac-rerun ls PATH``."""
    root = Path(args.path).expanduser()
    snippets, metrics, bad = scan(root, recursive=args.recursive)
    snippets = sort_snippets(snippets, args.sort)
    if args.reverse:
        snippets.reverse()
    if args.json:
        out = {
            "snippets": [s.to_json() for s in snippets],
            "metrics": [os.fspath(m) for m in metrics],
            "unreadable": [{"path": os.fspath(p), "error": e} for p, e in bad],
        }
        print(json.dumps(out, indent=1))
        return 0
    if snippets:
        print(format_table(snippets, root))
        if any(s.in_file > 1 for s in snippets):
            print("* the size of a file holding several snippets")
    else:
        print(f"no snippets in {root}")
    for m in metrics:
        print(f"training curves: {m.relative_to(root) if root.is_dir() else m} ({_size(m.stat().st_size)})")
    for p, e in bad:
        print(f"unreadable: {p} ({e})", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------------------- view
def select(
    snippets: Sequence[Snippet], *, last: int | None, worst: int | None, why: str | None = None
) -> list[Snippet]:
    """``--why TERM``: those holding an episode that ended by that termination term, then ``--last N``: the N
    newest; ``--worst N``: the N with the lowest episode return (those with one); else all, newest first."""
    if why is not None:
        snippets = [s for s in snippets if s.ended_by(why)]
    if worst is not None:
        return [s for s in sort_snippets(snippets, "return") if math.isfinite(s.worst_return)][:worst]
    newest = sort_snippets(snippets, "time")
    return newest[:last] if last is not None else newest


def rerun_executable() -> str:
    """The ``rerun`` CLI of this Python environment (next to ``sys.executable``), else the one on the ``PATH``."""
    beside = Path(sys.executable).with_name("rerun")
    if beside.exists():
        return str(beside)
    found = shutil.which("rerun")
    if found is None:
        raise CliError("view: no `rerun` executable next to this Python or on the PATH (pip install rerun-sdk)")
    return found


def _files(snippets: Sequence[Snippet]) -> list[Path]:
    files: list[Path] = []
    for s in snippets:
        if s.path not in files:
            files.append(s.path)
    return files


class _Stop(Exception):
    """SIGTERM while serving."""


def _wait_served(proc: subprocess.Popen[bytes], web_port: int, grpc_port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise CliError(f"view: the Rerun web viewer exited at start (status {proc.returncode}); ports in use?")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=2).close()
            with socket.create_connection(("127.0.0.1", grpc_port), timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise CliError(
                    f"view: the Rerun web viewer did not answer on port {web_port} within {timeout:.0f} s"
                ) from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def view(args: argparse.Namespace) -> int:
    """``isaac-rerun view PATH [--last N | --worst N] [--web]``."""
    root = Path(args.path).expanduser()
    snippets, _, _ = scan(root, recursive=args.recursive)
    chosen = select(snippets, last=args.last, worst=args.worst, why=args.why)
    if not chosen and args.why is not None:
        seen = sorted({t for s in snippets for r in s.episode_reasons or () for t in (r or "").split("+") if t})
        raise CliError(
            f"--why: no snippet in {root} holds an episode that ended by {args.why!r}"
            + (f" (their episodes ended by: {', '.join(seen)})" if seen else " (none records why its episodes ended)")
            + (" with an episode return" if args.worst and seen else "")
        )
    if not chosen:
        raise CliError(f"PATH: no snippets to open in {root}" + (" (none has an episode return)" if args.worst else ""))
    files = _files(chosen)
    rerun = rerun_executable()
    cmd = [rerun, *map(os.fspath, files)]
    if args.web:
        cmd += ["--serve-web", "--web-viewer-port", str(args.web_port), "--port", str(args.grpc_port)]
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not args.web and not args.dry_run and headless:
        raise CliError("no display here (DISPLAY and WAYLAND_DISPLAY are unset): add --web to serve the web viewer")
    print(f"isaac-rerun: opening {len(chosen)} snippet(s) in {len(files)} file(s):")
    for s in chosen:
        print(f"  {s.name}  ({s.path})")
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    if not args.web:
        proc = subprocess.Popen(cmd, start_new_session=True)
        print(f"isaac-rerun: the Rerun viewer runs as pid {proc.pid}")
        return 0
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def on_sigterm(signum: int, frame: Any) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        _wait_served(proc, args.web_port, args.grpc_port, args.timeout)
        data = urllib.parse.quote(f"rerun+http://127.0.0.1:{args.grpc_port}/proxy", safe="")
        print(f"isaac-rerun: the web viewer: http://127.0.0.1:{args.web_port}/?url={data}", flush=True)
        print(
            f"  (from another machine: ssh -L {args.web_port}:127.0.0.1:{args.web_port} "
            f"-L {args.grpc_port}:127.0.0.1:{args.grpc_port} THIS_HOST, then open the URL there; Ctrl+C stops it)",
            flush=True,
        )
        proc.wait()
        return 0 if proc.returncode in (0, -signal.SIGTERM) else 1
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(proc)


def add_parsers(sub: Any) -> None:
    """The ``ls`` and ``view`` subcommands."""
    ls_p = sub.add_parser(
        "ls",
        help="list the snippets in a folder (or a .rrd holding several)",
        description="A table of the snippets in PATH, read from the files themselves: name, trigger (why it was "
        "recorded: step / episode / iteration / manual / kept: <filter> / nan), recorded envs, frames, simulated "
        "time, the returns and lengths of the whole episodes it holds and why each ended (its termination terms; "
        "env:value when several envs; '?' where the recording does not say), file size. "
        "Training-curve files (*-metrics.rrd) are listed apart.",
    )
    ls_p.add_argument("path", metavar="PATH", help="a folder of .rrd snippets, or one .rrd file")
    ls_p.add_argument(
        "--sort",
        choices=_SORTS,
        default="time",
        help="time: newest first; return: worst episode return first; name; size: largest first (default: time)",
    )
    ls_p.add_argument("--reverse", action="store_true", help="reverse the order")
    ls_p.add_argument("-r", "--recursive", action="store_true", help="also the folders below PATH")
    ls_p.add_argument("--json", action="store_true", help="print JSON (every field, full precision) instead")
    ls_p.set_defaults(func=ls)

    view_p = sub.add_parser(
        "view",
        help="open snippets in the Rerun viewer",
        description="Open the snippets in PATH (or those --why, --last, --worst choose) in the Rerun viewer (the "
        "`rerun` next to this Python): a native viewer, or with --web a web viewer served over HTTP (for a machine "
        "without a display), whose URL is printed; it serves until Ctrl+C.",
    )
    view_p.add_argument("path", metavar="PATH", help="a folder of .rrd snippets, or one .rrd file")
    which = view_p.add_mutually_exclusive_group()
    which.add_argument("--last", type=positive_int, metavar="N", help="the N newest snippets")
    which.add_argument("--worst", type=positive_int, metavar="N", help="the N snippets with the lowest episode returns")
    view_p.add_argument(
        "--why",
        metavar="TERM",
        help="only the snippets holding an episode that ended by this termination term (e.g. base_contact, "
        "time_out; as `isaac-rerun ls` shows them under 'ended'); with --last / --worst, among those",
    )
    view_p.add_argument("-r", "--recursive", action="store_true", help="also the folders below PATH")
    view_p.add_argument("--web", action="store_true", help="serve the web viewer instead of spawning a native one")
    view_p.add_argument("--web_port", type=_port, default=9090, help="--web: HTTP port of the viewer (default: 9090)")
    view_p.add_argument("--grpc_port", type=_port, default=9876, help="--web: gRPC port of the data (default: 9876)")
    view_p.add_argument("--timeout", type=float, default=60.0, help="--web: seconds to wait for it (default: 60)")
    view_p.add_argument("--dry_run", action="store_true", help="print the snippets and the command; open nothing")
    view_p.set_defaults(func=view)


def _port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number <= 65535, got {value}")
    return value
