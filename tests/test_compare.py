"""``isaac-rerun compare`` / :func:`isaac_rerun.compare`: snippets side by side in one recording.

Isaac Lab 3.0 tests (``isaaclab`` marker): snippets recorded by the real recorder (``LogRerun``) on the bundled test
bed — a folder of per-env snippets, a folder of instanced ones, and a single-file (``save_path``) recording holding
several — are compared, and the comparison is read back with Rerun's own reader (``rrd_readback``): every entity of
every source snippet (body poses, scalars, static visuals; all components, all rows, every timeline) is in the
comparison under the column's prefix, unchanged; each column's frames start at 0 on the ``frame`` timeline (a
single-file snippet's ``{snippet}_frame`` renamed); the labels, the per-column properties and the layout (one 3D
view per column titled with its label, a grid beyond 4 columns, one overlaid plot per signal) are checked against
the source snippets' own properties; ``--envs`` keeps only the chosen env's entities.

Fast tests (Python 3.11 too, no Isaac Lab): bad input — a missing file, a metrics file, an ``.rrd`` that is not a
snippet, an unreadable file, too many snippets, an earlier comparison — gives a clear error naming it, exit status 2
from the command line, and leaves no file; on rerun-sdk 0.23 (no ``rerun.chunk``) the error says which rerun-sdk it
needs.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr

from isaac_rerun import _compat

HAS_CHUNK_API = importlib.util.find_spec("rerun.chunk") is not None
needs_chunk_api = pytest.mark.skipif(not HAS_CHUNK_API, reason="compare needs rerun.chunk (rerun-sdk 0.41 has it)")
PROPERTIES = "/__properties"
LISTS = {"envs", "recorded_envs", "episode_envs", "episode_returns", "episode_lengths", "episode_reasons", "columns"}
LISTS |= {"labels", "source_files", "source_snippets"}


# ---------------------------------------------------------------------------------------------------------- helpers
def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m isaac_rerun ARGS`` in ``cwd``, as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "isaac_rerun", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def tail(res: subprocess.CompletedProcess[str]) -> str:
    return f"rc={res.returncode}\n--- stdout\n{res.stdout[-3000:]}\n--- stderr\n{res.stderr[-3000:]}"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_file_snippet(path: Path, name: str, *, returns: list[float], frames: int = 3) -> None:
    """A small snippet file written the way the recorder writes one (``frame`` timeline, its properties written with
    the recorder's own ``_compat.send_properties``): for the fast tests of bad input."""
    stream = rr.RecordingStream("isaac_rerun_test")
    stream.save(str(path))
    for f in range(frames):
        stream.set_time("frame", sequence=f)
        stream.log("/World/envs/env_0/Robot/base", rr.Transform3D(translation=[f, 0, 0]))
    props = {
        "trigger": "episode",
        "envs": [0],
        "run": "",
        "name_prefix": "t",
        "step_dt": 0.02,
        "first_env_step": 0,
        "complete": True,
        "frames": frames,
        "sim_time": 0.02 * (frames - 1),
        "episode_envs": [0] * len(returns),
        "episode_returns": returns,
        "episode_lengths": [frames - 1] * len(returns),
    }
    _compat.send_properties(stream, name, props)
    stream.flush()
    stream.disconnect()


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small snippet files and a metrics file."""
    folder = tmp_path_factory.mktemp("small")
    for i, ret in enumerate([1.5, -2.25, 0.5]):
        write_file_snippet(folder / f"t-episode-{i}.rrd", f"t-episode-{i}", returns=[ret])
        time.sleep(0.02)
    metrics = rr.RecordingStream("isaac_rerun_test")
    metrics.save(str(folder / "t-metrics.rrd"))
    metrics.log("/train/loss", rr.Scalars([1.0]))
    metrics.flush()
    metrics.disconnect()
    return folder


# ---------------------------------------------------------------------------------------------------------- fast
@pytest.mark.skipif(HAS_CHUNK_API, reason="this rerun-sdk has rerun.chunk: compare works here")
def test_compare_on_an_old_rerun_sdk_says_which_version_it_needs(small_folder: Path, tmp_path: Path) -> None:
    """Isaac Lab 2.x's rerun-sdk 0.23 has no chunk reader/writer: a clear error, exit 2, nothing written."""
    res = cli("compare", str(small_folder), "--out", str(tmp_path / "c.rrd"), cwd=tmp_path, timeout=120)
    assert res.returncode == 2, tail(res)
    assert "rerun-sdk 0.41 or newer" in res.stderr and rr.__version__ in res.stderr, tail(res)
    assert files_in(tmp_path) == []


@needs_chunk_api
@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("missing", r"nope\.rrd: no such snippet file or folder"),
        ("metrics", r"t-metrics\.rrd: a training-curve file"),
        ("not-a-snippet", r"plain\.rrd: not an isaac-rerun snippet"),
        ("garbage", r"garbage\.rrd: cannot be read as a Rerun recording"),
        ("truncated", r"truncated\.rrd: cannot be read as a Rerun recording"),
        ("too-many", r"3 snippets chosen, more than --max 2"),
        ("bad-env", r"--envs.*t-episode-\d\.rrd snippet 't-episode-\d' recorded envs \[0\], not \[3\]"),
        ("no-worst", r"no snippet to compare"),
        ("empty-folder", r"empty: no snippets in this folder"),
    ],
)
def test_bad_input_is_a_clear_error_naming_it_and_writes_nothing(
    case: str, pattern: str, small_folder: Path, tmp_path: Path
) -> None:
    from isaac_rerun.cli import main

    work = tmp_path / "work"
    work.mkdir()
    extra: list[str] = []
    if case == "missing":
        args = [str(small_folder / "t-episode-0.rrd"), str(small_folder / "nope.rrd")]
    elif case == "metrics":
        args = [str(small_folder / "t-episode-0.rrd"), str(small_folder / "t-metrics.rrd")]
    elif case == "not-a-snippet":
        plain = rr.RecordingStream("someone_else")
        plain.save(str(work / "plain.rrd"))
        plain.log("/points", rr.Points3D([[0, 0, 0]]))
        plain.flush()
        plain.disconnect()
        args = [str(small_folder), str(work / "plain.rrd")]
    elif case == "garbage":
        (work / "garbage.rrd").write_bytes(b"this is not a recording at all\n" * 3)
        args = [str(work / "garbage.rrd")]
    elif case == "truncated":
        data = (small_folder / "t-episode-0.rrd").read_bytes()
        (work / "truncated.rrd").write_bytes(data[:9])
        args = [str(work / "truncated.rrd")]
    elif case == "too-many":
        args, extra = [str(small_folder)], ["--max", "2"]
    elif case == "bad-env":
        args, extra = [str(small_folder)], ["--envs", "3"]
    elif case == "no-worst":
        write_file_snippet(work / "t-episode-9.rrd", "t-episode-9", returns=[])
        args, extra = [str(work / "t-episode-9.rrd")], ["--worst", "1"]
    else:
        (work / "empty").mkdir()
        args = [str(work / "empty")]
    before = files_in(work)
    out = tmp_path / "out" / "c.rrd"
    out.parent.mkdir()
    out.write_bytes(b"an earlier comparison")  # left as it was
    assert main(["compare", *args, *extra, "--out", str(out)]) == 2
    assert files_in(work) == before and files_in(out.parent) == ["c.rrd"]
    assert out.read_bytes() == b"an earlier comparison"
    with pytest.raises(ValueError, match=pattern):  # the API: CompareError, a ValueError naming it
        import isaac_rerun

        isaac_rerun.compare(args, out=out, **_api_kwargs(extra))
    assert files_in(out.parent) == ["c.rrd"]


def _api_kwargs(extra: list[str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag == "--envs":
            kwargs["envs"] = [int(v) for v in value.split(",")]
        elif flag == "--max":
            kwargs["max_columns"] = int(value)
        else:
            kwargs[flag[2:]] = int(value)
    return kwargs


@needs_chunk_api
def test_the_command_line_error_names_the_file_and_exits_2(small_folder: Path, tmp_path: Path) -> None:
    """As a subprocess: one line naming the file, exit 2, no output; then a good run and the comparison is refused
    as an input but skipped in a folder."""
    res = cli("compare", str(small_folder / "nope.rrd"), cwd=tmp_path, timeout=120)
    assert res.returncode == 2, tail(res)
    assert re.search(r"isaac-rerun compare: error: .*nope\.rrd: no such snippet file or folder", res.stderr)
    assert files_in(tmp_path) == []
    res = cli("compare", str(small_folder), "--out", "c.rrd", cwd=tmp_path, timeout=120)
    assert res.returncode == 0, tail(res)
    assert files_in(tmp_path) == ["c.rrd"] and "compared 3 snippet(s)" in res.stdout
    res = cli("compare", "c.rrd", "--out", "d.rrd", cwd=tmp_path, timeout=120)
    assert res.returncode == 2 and "c.rrd: a comparison written by isaac-rerun compare" in res.stderr, tail(res)
    (tmp_path / "c.rrd").rename(small_folder / "earlier-compare.rrd")
    try:
        res = cli("compare", str(small_folder), "--out", "d.rrd", cwd=tmp_path, timeout=120)
        assert res.returncode == 0 and "compared 3 snippet(s)" in res.stdout, tail(res)
    finally:
        (small_folder / "earlier-compare.rrd").unlink()


@needs_chunk_api
def test_selection_and_the_api_function(small_folder: Path, tmp_path: Path) -> None:
    """``worst`` / ``best`` / ``every`` choose from the snippets' own returns; ``isaac_rerun.compare`` is the
    function whether or not its module was imported by name first; the CLI's ``--max`` default is the API's."""
    import isaac_rerun
    from isaac_rerun.compare import DEFAULT_MAX_COLUMNS, CompareError
    from isaac_rerun.recordings import read_snippets

    assert issubclass(CompareError, ValueError)
    returns = {f"t-episode-{i}": r for i, r in enumerate([1.5, -2.25, 0.5])}

    def sources(path: Path) -> list[str]:
        cols = sorted((s for s in read_snippets(path) if s.trigger != "compare"), key=lambda s: int(s.name[0]))
        return [s.name.split("-", 1)[1] for s in cols]

    out = isaac_rerun.compare(small_folder, worst=2, out=tmp_path / "w.rrd")
    assert out == tmp_path / "w.rrd"
    assert sources(out) == sorted(returns, key=returns.__getitem__)[:2]
    assert sources(isaac_rerun.compare([small_folder], best=1, out=tmp_path / "b.rrd")) == ["t-episode-0"]
    every = isaac_rerun.compare([small_folder], every=2, out=tmp_path / "e.rrd")
    assert sources(every) == ["t-episode-0", "t-episode-2"]  # oldest first, every 2nd
    from isaac_rerun.cli import _parser

    ns = _parser().parse_args(["compare", "x.rrd"])
    assert ns.max == DEFAULT_MAX_COLUMNS


# ---------------------------------------------------------------------------------------------------------- Isaac Lab
def record(env: Any, steps: int, episodes: int, **options: Any) -> None:
    """Record with ``LogRerun`` until the tracked env's ``episodes`` episodes have ended (random actions)."""
    import torch

    from isaac_rerun import LogRerun

    wrapped = LogRerun(env, episode_trigger=lambda i: i < episodes, name_prefix="t", **options)
    base = wrapped.unwrapped
    generator = torch.Generator().manual_seed(0)
    try:
        wrapped.reset()
        for _ in range(steps):
            actions = 2 * torch.rand(base.num_envs, 1, generator=generator) - 1
            wrapped.step(actions.to(base.device))
            if wrapped.episode_id >= episodes:
                break
    finally:
        wrapped.session.close()


@pytest.fixture(scope="module")
def recorded(testbed_pool: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real snippets of the test bed (episodes of at most 30 steps): ``per_env`` (3 files, envs 0 and 1),
    ``instanced`` (2 files, envs 0-2, the instanced layout) and ``shared`` (one ``save_path`` file holding 2)."""
    root = tmp_path_factory.mktemp("recorded")
    env = testbed_pool.make(episode_length_s=0.5)
    try:
        record(env, 200, 3, save_dir=root / "per_env", logged_envs=[0, 1])
        record(env, 200, 2, save_dir=root / "instanced", logged_envs=[0, 1, 2], scene_log_cfg={"layout": "instanced"})
        record(env, 200, 2, save_path=root / "shared.rrd", logged_envs=[0, 1])
    finally:
        testbed_pool.release()
    return {"root": root, "per_env": root / "per_env", "instanced": root / "instanced", "shared": root / "shared.rrd"}


def properties(path: Path) -> dict[str, dict[str, Any]]:
    """Every ``/__properties/<name>`` of a file as plain values (read with Rerun's reader)."""
    from rerun.chunk import RrdReader

    out: dict[str, dict[str, Any]] = {}
    for chunk in RrdReader(str(path)).stream().filter(content=f"{PROPERTIES}/**").to_chunks():
        if not chunk.entity_path.startswith(PROPERTIES + "/"):
            continue
        batch = chunk.to_record_batch()
        values = out.setdefault(chunk.entity_path[len(PROPERTIES) + 1 :].replace("\\", ""), {})
        for name in batch.schema.names:
            if name == "rerun.controls.RowId":
                continue
            v = batch.column(name).to_pylist()[-1]
            key = name.split(":")[-1]
            if isinstance(v, list) and len(v) == 1 and key not in LISTS:
                v = v[0]  # a scalar property is an array of one
            if v is not None:
                values[key] = v
    return out


def source_snippets(path: Path) -> dict[str, dict[str, Any]]:
    return {name: p for name, p in properties(path).items()}


def expected_label(name: str, props: dict[str, Any], envs: list[int]) -> str:
    """The label the issue asks for, built here from the source snippet's own properties."""
    kind, ident = re.search(r"-(episode|step|iteration)-(\d+)$", name).groups()  # type: ignore[union-attr]
    if props.get("iteration", -1) >= 0:  # -1: recorded outside training iterations
        kind, ident = "iteration", str(props["iteration"])
    parts = [f"{kind} {ident}", ("env " if len(envs) == 1 else "envs ") + ",".join(map(str, envs))]
    reasons = props.get("episode_reasons") or []
    for i, env in enumerate(props.get("episode_envs", [])):
        if env not in envs:
            continue
        ret = props["episode_returns"][i]
        if ret is not None and math.isfinite(ret):
            parts.append("return " + f"{ret:.1f}".replace("-", "\u2212"))
        if i < len(reasons) and reasons[i]:
            parts.append(f"ended: {reasons[i]}")
        break
    return " \u00b7 ".join(parts)


def env_of(entity: str) -> int | None:
    m = re.search(r"/env_(\d+)(/|$)", entity)
    return int(m.group(1)) if m else None


def rows_by_frame(ent: Any, frame: str) -> dict[str, list[Any]]:
    """An entity's temporal columns, rows ordered by (frame, then every other column), the timelines ``frame``
    (``{snippet}_frame``) and ``{snippet}_sim_time`` named ``frame`` and ``sim_time``."""
    names = sorted(ent.columns)
    rows = [tuple(ent.columns[n][i] for n in names) for i in range(ent.n)]
    time = frame[: -len("frame")] + "sim_time"
    renamed = ["frame" if n == frame else "sim_time" if n == time else n for n in names]
    idx = renamed.index("frame")
    rows.sort(key=lambda r: (r[idx], repr(r)))
    return {n: [r[j] for r in rows] for j, n in enumerate(renamed)}


def blueprint_views(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The views (class, name, origin, contents) and the container kinds of a file's layout."""
    from rerun.blueprint.components import ContainerKind
    from rerun.chunk import RrdReader

    reader = RrdReader(str(path))
    views: dict[str, dict[str, Any]] = {}
    kinds: list[str] = []
    for store in reader.blueprints():
        for chunk in reader.stream(store=store).to_chunks():
            batch = chunk.to_record_batch()
            cols = {n: batch.column(n).to_pylist()[-1] for n in batch.schema.names if ":" in n}
            m = re.match(r"^/view/([^/]+)(/ViewContents)?$", chunk.entity_path)
            if m:
                v = views.setdefault(m.group(1), {})
                if m.group(2):
                    v["contents"] = cols.get("ViewContents:query")
                else:
                    v["class"] = cols["ViewBlueprint:class_identifier"][0]
                    v["name"] = (cols.get("ViewBlueprint:display_name") or [None])[0]
                    v["origin"] = (cols.get("ViewBlueprint:space_origin") or [None])[0]
            if "ContainerBlueprint:container_kind" in cols:
                kinds.append(ContainerKind(cols["ContainerBlueprint:container_kind"][0]).name)
    return list(views.values()), kinds


def series_names(path: Path) -> dict[str, list[str]]:
    """The series names the layout's plot overrides give each entity."""
    from rerun.chunk import RrdReader

    reader = RrdReader(str(path))
    out: dict[str, list[str]] = {}
    for store in reader.blueprints():
        for chunk in reader.stream(store=store).to_chunks():
            m = re.match(r"^/view/[^/]+/ViewContents/overrides(/.+)/visualizers/[^/]+$", chunk.entity_path)
            batch = chunk.to_record_batch()
            for name in ("SeriesLines:names", "SeriesPoints:names"):
                if m and name in batch.schema.names:
                    out[m.group(1)] = batch.column(name).to_pylist()[-1]
    return out


@pytest.mark.isaaclab
@needs_chunk_api
def test_every_snippet_is_copied_unchanged_under_its_prefix(recorded: dict[str, Path], tmp_path: Path) -> None:
    """7 real snippets of three kinds in one comparison: every entity of every source (poses, scalars, static
    visuals, markers, sensors: every component, row and timeline) is in its column unchanged; frames from 0 on
    ``frame``; labels and properties from the sources; a grid of 7 3D views and one overlaid plot per signal."""
    import isaac_rerun
    from rrd_readback import read_rrd

    out = isaac_rerun.compare(
        [recorded["per_env"], recorded["instanced"], recorded["shared"]], out=tmp_path / "all.rrd"
    )
    cmp = read_rrd(out)
    props = properties(out)
    columns = sorted((n for n in props if n != "isaac-rerun-compare"), key=lambda n: int(n.split("-", 1)[0]))
    assert len(columns) == 7
    assert props["isaac-rerun-compare"]["columns"] == columns
    views, kinds = blueprint_views(out)
    scenes = {v["origin"]: v for v in views if v["class"] == "3D"}
    assert sorted(scenes) == sorted(f"/{c}/World" for c in columns)
    assert "Grid" in kinds  # more than 4 columns
    checked = {"poses": 0, "static": 0, "scalars": 0}
    seen_files: set[str] = set()
    for col in columns:
        p = props[col]
        src_path = Path(p["source_file"])
        seen_files.add(src_path.name)
        src_props = source_snippets(src_path)[p["source_snippet"]]
        assert p["envs"] == src_props["envs"] and p["recorded_envs"] == src_props["envs"]
        assert p["frames"] == src_props["frames"] and p["episode_returns"] == src_props["episode_returns"]
        label = expected_label(p["source_snippet"], src_props, list(src_props["envs"]))
        assert p["label"] == label and scenes[f"/{col}/World"]["name"] == label
        src = read_rrd(src_path)
        shared = src_path.name == "shared.rrd"
        frame = f"{p['source_snippet']}_frame" if shared else "frame"
        mine = {e: ent for e, ent in src.items() if not e.startswith(PROPERTIES)}
        if shared:  # a single-file recording: this snippet's rows (and the file's static data)
            mine = {e: ent for e, ent in mine.items() if ent.static or frame in ent.columns}
        assert mine
        for entity, ent in mine.items():
            copy = cmp[f"/{col}{entity}"]
            assert copy.static == ent.static, entity
            checked["static"] += bool(ent.static)
            if ent.n == 0:
                continue
            if shared:
                keep = [i for i, v in enumerate(ent.columns.get(frame, [])) if v is not None]
                if not keep:  # static data, rows of other snippets only
                    assert copy.n == 0, (col, entity)
                    continue
                other = re.compile(rf"^(?!{re.escape(p['source_snippet'])}_).*_(frame|sim_time)$")
                ent.columns = {n: [c[i] for i in keep] for n, c in ent.columns.items() if not other.match(n)}
                ent.n = len(keep)
            want, got = rows_by_frame(ent, frame), rows_by_frame(copy, "frame")
            assert repr(got) == repr(want), (col, entity)  # exactly equal (repr: a NaN equals a NaN)
            assert set(got["frame"]) <= set(range(src_props["frames"])), entity
            if "Transform3D:translation" in want or "InstancePoses3D:translations" in want:
                assert got["frame"] == list(range(src_props["frames"])), entity  # every frame, from 0
                checked["poses"] += 1
            checked["scalars"] += "Scalars:scalars" in want
        assert not [e for e in cmp if e.startswith(f"/{col}/") and e[len(col) + 1 :] not in mine]
    assert seen_files == {"t-episode-0.rrd", "t-episode-1.rrd", "t-episode-2.rrd", "shared.rrd"}
    assert checked["poses"] > 30 and checked["static"] > 30 and checked["scalars"] > 10, checked
    # each column's series named after it in the plots (the labels repeat here: numbered)
    names = series_names(out)
    for k, col in enumerate(columns):
        tag = f"{k}: " + props[col]["label"].split(" \u00b7 ")[0]
        if not props[col]["instanced"]:
            assert names[f"/{col}/scalars/env_0/reward"] == [f"{tag}: env 0"], col
    # one plot per signal, holding that signal of every column (a series per column per env)
    plots = {v["name"]: v for v in views if v["class"] == "TimeSeries"}
    assert {"reward", "action"} <= set(plots)
    for name in ("reward", "action"):
        query = "\n".join(plots[name]["contents"])
        for col in columns:
            assert f"/{col}/scalars/" in query and name in query, (name, col)


@pytest.mark.isaaclab
@needs_chunk_api
def test_envs_keeps_one_env_per_column_on_the_command_line(recorded: dict[str, Path], tmp_path: Path) -> None:
    """``--envs 0``: each column holds env 0's entities only (and the global ones), equal to the source's; in
    instanced entities each row keeps env 0's instance, equal to the source's; an instanced snippet's plots (a series
    per env) are copied whole and its label says so; four columns sit in one row; ``rerun rrd verify`` accepts it."""
    from rrd_readback import read_rrd

    res = cli(
        "compare",
        str(recorded["per_env"]),
        str(recorded["instanced"] / "t-episode-1.rrd"),
        "--envs",
        "0",
        "--out",
        "c.rrd",
        cwd=tmp_path,
    )
    assert res.returncode == 0, tail(res)
    out = tmp_path / "c.rrd"
    rerun = Path(sys.executable).with_name("rerun")
    verify = subprocess.run([str(rerun), "rrd", "verify", str(out)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert files_in(tmp_path) == ["c.rrd"]
    cmp = read_rrd(out)
    props = properties(out)
    columns = sorted((n for n in props if n != "isaac-rerun-compare"), key=lambda n: int(n.split("-", 1)[0]))
    assert len(columns) == 4
    views, kinds = blueprint_views(out)
    assert sum(v["class"] == "3D" for v in views) == 4 and "Grid" not in kinds
    filtered = 0
    for col in columns:
        p = props[col]
        src_path = Path(p["source_file"])
        src = read_rrd(src_path)
        src_props = source_snippets(src_path)[p["source_snippet"]]
        recorded_envs = src_props["envs"]
        assert p["envs"] == [0] and p["recorded_envs"] == recorded_envs
        label = expected_label(p["source_snippet"], src_props, [0])
        assert p["label"] == label + (" (plots: every env)" if p["instanced"] else "")
        ours = {e[len(col) + 1 :] for e in cmp if e.startswith(f"/{col}/")}
        want = {e for e in src if not e.startswith(PROPERTIES) and env_of(e) in (None, 0)}
        assert ours == want and not any("env_1" in e for e in ours)
        position = recorded_envs.index(0)
        for entity in want:
            got_ent, src_ent = cmp[f"/{col}{entity}"], src[entity]
            assert got_ent.static == src_ent.static, (col, entity)
            if not src_ent.n:
                continue
            got, want_rows = rows_by_frame(got_ent, "frame"), rows_by_frame(src_ent, "frame")
            if "instances" in entity.split("/"):  # a row per frame, an instance per recorded env: env 0's kept
                n = len(recorded_envs)
                for name, values in want_rows.items():
                    if ":" in name and all(isinstance(v, list) and len(v) == n for v in values):
                        want_rows[name] = [[v[position]] for v in values]
                        filtered += 1
            assert repr(got) == repr(want_rows), (col, entity)
    assert filtered > 10  # the instanced bodies' poses were filtered, not only copied
    # the scene's bodies of env 0 are at the same place in every column at frame 0 (they all start from a reset)
    bases = [
        np.asarray(cmp[f"/{c}/World/envs/env_0/Robot/base"].columns["Transform3D:translation"][0]) for c in columns[:3]
    ]
    assert all(np.array_equal(b, bases[0]) for b in bases)


@needs_chunk_api
def test_view_without_a_display_is_refused_before_writing(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from isaac_rerun.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is Linux's")
    assert main(["compare", str(small_folder), "--out", str(tmp_path / "c.rrd"), "--view"]) == 2
    assert files_in(tmp_path) == []


@needs_chunk_api
@pytest.mark.parametrize("bodies", [1, 3])
def test_envs_keeps_the_chosen_envs_instances_of_shared_visuals(tmp_path: Path, bodies: int) -> None:
    """A shared visual (logged once per file, e.g. an A1 leg mesh) is drawn for ``bodies`` bodies in each of 4
    recorded envs: a row holds ``bodies * 4`` instances, instance ``b * 4 + i`` for env position ``i``. ``--envs`` keeps
    each body's instance of the chosen envs, values unchanged."""
    from rerun.chunk import RrdReader

    from isaac_rerun.compare import _instances

    path = tmp_path / "shared.rrd"
    rec = rr.RecordingStream("shared", recording_id="shared")
    rec.save(str(path))
    n, frames = 4, 3
    translations = np.arange(frames * bodies * n * 3, dtype=np.float32).reshape(frames * bodies * n, 3)
    rec.send_columns(
        "/World/envs/instances/mesh",
        indexes=[rr.TimeColumn("frame", sequence=np.arange(frames))],
        columns=rr.InstancePoses3D.columns(translations=translations).partition([bodies * n] * frames),
    )
    rec.flush()
    rec.disconnect()
    (chunk,) = [c for c in RrdReader(str(path)).stream().to_chunks() if c.entity_path.endswith("mesh")]
    batch = chunk.to_record_batch()
    _, kept = _instances(chunk, batch, [1, 3], n)
    got = kept.column("InstancePoses3D:translations").to_pylist()
    want = translations.reshape(frames, bodies, n, 3)[:, :, [1, 3]].reshape(frames, bodies * 2, 3)
    assert np.asarray(got, dtype=np.float32).tolist() == want.tolist()
