"""``isaac-rerun ls`` and ``isaac-rerun view``: find a snippet among hundreds, and open it.

Both show what each snippet says of itself in its recording properties, read by :mod:`isaac_rerun.recordings` (why
it was recorded, which envs, its frames, time span and whole episodes with their returns, lengths and why they
ended); a snippet's name (and its file's) is only a name. Nothing here imports Isaac Lab, torch or an RL framework.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from isaac_rerun.cli.options import CliError, positive_int
from isaac_rerun.recordings import SORTS, NoChunkReader, RecordedSnippet, sort_snippets
from isaac_rerun.recordings import scan as _scan

__all__ = ["ls", "scan", "select", "view"]


def scan(path: Path, *, recursive: bool = False) -> tuple[list[RecordedSnippet], list[Path], list[tuple[Path, str]]]:
    """:func:`isaac_rerun.recordings.scan`, its errors as usage errors naming ``PATH``."""
    try:
        return _scan(path, recursive=recursive)
    except (NoChunkReader, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None


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


def _rows(snippets: Sequence[RecordedSnippet], root: Path) -> list[list[str]]:
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


def _ended(s: RecordedSnippet) -> str:
    """The ``ended`` column: why each whole episode ended; ``?`` where the recording does not say (an empty
    reason: the recorder did not know it)."""
    if s.episode_reasons is None:
        return "?" if s.episode_envs else "-"
    return _per_env(s.episode_envs, [reason or "?" for reason in s.episode_reasons], "s")


def format_table(snippets: Sequence[RecordedSnippet], root: Path) -> str:
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
    snippets: Sequence[RecordedSnippet], *, last: int | None, worst: int | None, why: str | None = None
) -> list[RecordedSnippet]:
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


def _files(snippets: Sequence[RecordedSnippet]) -> list[Path]:
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
        choices=SORTS,
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
