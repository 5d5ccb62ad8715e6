"""The ``isaac-rerun`` command line, run as a subprocess (``python -m isaac_rerun``) the way users run it.

Fast tests (Python 3.11 too, no Isaac Lab): the help, flag errors that need no env, ``ls`` and ``view --web`` on
snippet files written with the recorder's own property writer, the choice of the fallback loop.

Isaac Lab 3.0 tests (``isaaclab`` marker): ``train`` through Isaac Lab's own entrypoint for rsl_rl, skrl and SB3, the
fallback loop forced on the test bed, ``play`` of a checkpoint saved by ``train``, ``ls`` of snippets recorded through
``LogRerun`` in this process (returns compared with what the env returned), flag errors that need the task registry
or the env cfg, and injection points moved away (in-process and in a subprocess). The recorded poses are compared
with the test bed's own state: a snippet that starts at a reset shows the env's initial state in its first frame and
the state after one step in its second, which this process re-simulates on its own test bed (the props and the robot's
fixed base do not depend on the policy's actions nor on the seed). Each Isaac Lab subprocess costs 30-60 s here:
``--num_envs 4 --max_iterations 1``, and one rsl_rl run serves ``train``, ``play`` and ``ls``.
"""

from __future__ import annotations

import importlib.util
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
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr

from isaac_rerun import _compat

TASK = "IsaacRerun-Testbed-Direct"
HAS_RRD_READER = importlib.util.find_spec("rerun.chunk") is not None
"""``ls`` / ``view`` read the snippets' properties with ``rerun.chunk`` (0.41 has it, 0.23 not)."""
needs_rrd_reader = pytest.mark.skipif(not HAS_RRD_READER, reason="ls / view need rerun.chunk (rerun-sdk 0.41 has it)")
HAS_ENTRYPOINTS = importlib.util.find_spec("isaaclab_rl") is not None and (
    importlib.util.find_spec("isaaclab_rl.entrypoints") is not None
)
# bodies whose pose is known after a reset and one step whatever the policy does: the props and the robot's fixed base
FIXED_BY_RESET = (
    "Robot/base",
    "Cuboid",
    "Sphere",
    "Capsule",
    "Cylinder",
    "Cone",
    "Collection_Box",
    "Collection_Ball",
    "Collection_Can",
)


# ---------------------------------------------------------------------------------------------------------- helpers
def cli(*args: str, cwd: Path, timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m isaac_rerun ARGS`` in ``cwd``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "isaac_rerun", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )


def tail(res: subprocess.CompletedProcess[str], n: int = 3000) -> str:
    return f"rc={res.returncode}\n--- stdout\n{res.stdout[-n:]}\n--- stderr\n{res.stderr[-n:]}"


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def verify(paths: list[Path]) -> None:
    """``rerun rrd verify`` accepts every file."""
    rerun = Path(sys.executable).with_name("rerun")
    res = subprocess.run([str(rerun), "rrd", "verify", *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def ls_json(path: Path, *extra: str, capsys: pytest.CaptureFixture[str] | None = None) -> dict[str, Any]:
    """``isaac-rerun ls PATH --json`` as a subprocess, or in this process (``capsys`` given: faster)."""
    if capsys is not None:
        from isaac_rerun.cli import main

        capsys.readouterr()
        assert main(["ls", str(path), "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out)
    res = cli("ls", str(path), "--json", *extra, cwd=path if path.is_dir() else path.parent, timeout=120)
    assert res.returncode == 0, tail(res)
    return json.loads(res.stdout)


def write_snippet(
    stream_or_path: Path | rr.RecordingStream, name: str, props: dict[str, Any], *, frames: int = 3
) -> None:
    """A snippet as the recorder writes one: a few frames of a body and its ``/__properties/<name>`` (written with the
    recorder's own ``_compat.send_properties``; in a file of its own, or into a given stream)."""
    own = not isinstance(stream_or_path, rr.RecordingStream)
    stream = rr.RecordingStream("isaac_rerun_test") if own else stream_or_path
    if own:
        stream.save(str(stream_or_path))
    for f in range(frames):
        stream.set_time(f"{name}_frame", sequence=f)
        stream.log(f"/World/envs/env_0/{name}", rr.Transform3D(translation=[f, 0, 0]))
    _compat.send_properties(stream, name, props)
    if own:
        stream.flush()
        stream.disconnect()


def props(
    trigger: str, returns: list[float], lengths: list[int], episode_envs: list[int], **extra: Any
) -> dict[str, Any]:
    """A snippet's properties as :meth:`isaac_rerun.recorder.Recorder.stop` writes them."""
    return {
        "trigger": trigger,
        "envs": sorted(set(episode_envs)) or [0],
        "run": "",
        "name_prefix": "t",
        "step_dt": 0.02,
        "first_env_step": 0,
        "complete": True,
        "frames": sum(lengths) + 1 if lengths else 3,
        "sim_time": 0.02 * (sum(lengths) if lengths else 2),
        "last_env_step": 10,
        "episode_envs": episode_envs,
        "episode_returns": returns,
        "episode_lengths": lengths,
        **extra,
    }


@pytest.fixture(scope="module")
def snippet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three snippet files (written one after the other, so their start times order them), a metrics file, and a
    ``save_path``-style file holding two snippets."""
    folder = tmp_path_factory.mktemp("snippets")
    write_snippet(folder / "t-episode-0.rrd", "t-episode-0", props("episode", [5.5, 7.25], [20, 25], [0, 1]))
    time.sleep(0.05)
    write_snippet(folder / "t-step-100.rrd", "t-step-100", props("step", [-3.0], [12], [1]))
    time.sleep(0.05)
    write_snippet(
        folder / "t-env-3-worst-episode-4.rrd",
        "t-env-3-worst-episode-4",
        props("kept:worst", [-9.5], [30], [3]),
    )
    rr.RecordingStream("isaac_rerun_test").save(str(folder / "t-metrics.rrd"))
    many = rr.RecordingStream("isaac_rerun_test")
    many.save(str(folder / "many.rrd"))
    write_snippet(many, "t-episode-7", props("episode", [1.0], [10], [0]))
    write_snippet(many, "t-episode-8", props("episode", [2.0], [11], [0]))
    many.flush()
    many.disconnect()
    return folder


# ---------------------------------------------------------------------------------------------------------- fast
@pytest.mark.parametrize("action", ["train", "play"])
def test_help_lists_every_rerun_flag_with_its_default(action: str, tmp_path: Path) -> None:
    import argparse

    from isaac_rerun.cli.options import add_rerun_args

    parser = argparse.ArgumentParser()
    group = add_rerun_args(parser, action)
    flags = [a.option_strings[0] for a in group._group_actions]
    res = cli(action, "--help", cwd=tmp_path, timeout=120)
    assert res.returncode == 0, tail(res)
    text = " ".join(res.stdout.split())
    for action_ in group._group_actions:
        assert action_.option_strings[0] in text
        assert "default" in (action_.help or ""), f"{action_.option_strings[0]}'s help names no default"
    assert ("--rerun_episodes" in flags) == (action == "play")
    assert "--rl_library" in text and "--task" in text
    assert files_in(tmp_path) == []


def test_top_level_help_and_version(tmp_path: Path) -> None:
    res = cli("--help", cwd=tmp_path, timeout=60)
    assert res.returncode == 0 and all(c in res.stdout for c in ("train", "play", "ls", "view"))
    res = cli("--version", cwd=tmp_path, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("isaac-rerun ")
    script = Path(sys.executable).with_name("isaac-rerun")
    if script.exists():  # the console script of pyproject's [project.scripts]
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout == res.stdout


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["train", "--rl_library", "rl_foo", "--task", TASK], "--rl_library"),
        (["train", "--rl_library", "rsl_rl", "--task", TASK, "--num_envs", "4", "--rerun_envs", "9"], "--rerun_envs"),
        (["play", "--rl_library", "rsl_rl", "--task", TASK, "--checkpoint", "no/such/model_7.pt"], "--checkpoint"),
        (["train", "--rl_library", "rsl_rl", "--task", TASK, "--rerun_signals", "rewards,torques"], "--rerun_signals"),
    ],
    ids=["unknown-library", "envs-out-of-range", "missing-checkpoint", "unknown-signal"],
)
def test_bad_flags_exit_non_zero_naming_the_flag_and_write_nothing(args: list[str], flag: str, tmp_path: Path) -> None:
    res = cli(*args, cwd=tmp_path, timeout=120)
    assert res.returncode == 2, tail(res)
    assert flag in res.stderr, tail(res)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--rerun_envs", "zero"], "--rerun_envs"),
        (["--rerun_envs", "0,0"], "--rerun_envs"),
        (["--rerun_interval", "0"], "--rerun_interval"),
        (["--rerun_length", "-1"], "--rerun_length"),
        (["--rerun_layout", "grid"], "--rerun_layout"),
        (["--rerun_trails", "(cart"], "--rerun_trails"),
        (["--rerun_viewer", "localhost"], "--rerun_viewer"),
        (["--rerun_dir", "x", "--rerun_viewer", "spawn"], "--rerun_dir"),
        (["--rerun_keep_window", "5"], "--rerun_keep_window"),
        (["--rerun_history", "50"], "--rerun_history"),
        (["--rerun_trigger", "none"], "--rerun_trigger"),
        (["--rerun_trigger", "none", "--rerun_keep", "worst", "--rerun_interval", "3"], "--rerun_interval"),
        (["--rerun_name_prefix", "a/b"], "--rerun_name_prefix"),
        (["--distributed"], "--distributed"),
        (["--num_envs", "2", "--rerun_envs", "4:8"], "--rerun_envs"),
        (["--rerun_signals", "rewards,joint"], "--rerun_signals"),
        (["--rerun_signals", "rewards;joints"], "--rerun_signals"),
        (["--rerun_camera_codec", "vp9"], "--rerun_camera_codec"),
        (["--rerun_env_layout", "grid"], "--rerun_env_layout"),
        (["--rerun_backend", "kit"], "--rerun_backend"),
        (["--rerun_keep", "worst:base_contact"], "--rerun_keep"),
        (["--rerun_keep", "terminated:"], "--rerun_keep"),
        (["--rerun_keep", "terminated:base_contact", "--rerun_signals", "rewards"], "--rerun_keep"),
        (["--rerun_nan_guard", "--rerun_history", "0"], "--rerun_history"),
        # refused by RecordingCfg (history shorter than the window): the flag whose option it refuses
        (["--rerun_keep", "worst", "--rerun_keep_window", "100", "--rerun_history", "50"], "--rerun_history"),
    ],
)
def test_rerun_flag_errors_name_the_flag(
    args: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from isaac_rerun.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--rl_library", "sb3", "--task", TASK, *args]) == 2
    assert flag in capsys.readouterr().err
    assert files_in(tmp_path) == []


def test_play_refuses_the_iteration_trigger(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from isaac_rerun.cli import main

    assert main(["play", "--rl_library", "sb3", "--task", TASK, "--rerun_trigger", "iteration"]) == 2
    assert "--rerun_trigger" in capsys.readouterr().err


def test_flags_become_the_recording_options() -> None:
    import argparse

    from isaac_rerun import filters
    from isaac_rerun.cli.options import add_rerun_args, recording_cfg, rerun_options

    p = argparse.ArgumentParser()
    add_rerun_args(p, "train")
    ns = p.parse_args(["--rerun_envs", "0:4", "--rerun_interval", "3", "--rerun_length", "7", "--rerun_trails", "cart"])
    cfg = recording_cfg(rerun_options(ns, "train"), save_dir="/tmp/x", name_prefix="p")
    assert (cfg.logged_envs, cfg.recording_length, cfg.scene_log_cfg.trails) == ("0:4", 7, ("cart",))
    assert [i for i in range(10) if cfg.iteration_trigger(i)] == [0, 3, 6, 9]
    assert cfg.step_trigger is None and cfg.episode_trigger is None and cfg.verbose == 1
    ns = p.parse_args(["--rerun_trigger", "step", "--rerun_layout", "instanced", "--rerun_viewer", "spawn"])
    cfg = recording_cfg(rerun_options(ns, "train"), save_dir="/tmp/x", name_prefix="p")
    assert [i for i in range(4001) if cfg.step_trigger(i)] == [0, 2000, 4000]  # Isaac Lab's --video_interval default
    assert (cfg.viewer, cfg.save_dir, cfg.scene_log_cfg.layout) == ("spawn", None, "instanced")
    ns = p.parse_args(["--rerun_keep", "worst", "--rerun_envs", "0,2", "--rerun_history", "64"])
    cfg = recording_cfg(rerun_options(ns, "train"), save_dir="/tmp/x", name_prefix="p")
    assert isinstance(cfg.episode_filter, filters.WindowFilter) and cfg.episode_filter.per_iteration
    assert (cfg.history, cfg.history_envs, cfg.iteration_trigger, cfg.episode_trigger) == (64, [0, 2], None, None)
    p = argparse.ArgumentParser()
    add_rerun_args(p, "play")
    ns = p.parse_args(["--rerun_episodes", "2"])
    cfg = recording_cfg(rerun_options(ns, "play"), save_dir="/tmp/x", name_prefix="p")
    assert [i for i in range(5) if cfg.episode_trigger(i)] == [0, 1]  # no lone reset frame after the last one


def _fires(trigger: Any, n: int = 10) -> list[int]:
    return [i for i in range(n) if trigger(i)]


HAS_REASONS = "reasons" in getattr(importlib.import_module("isaac_rerun.history").Episode, "__dataclass_fields__", {})


def _keeps(episode_filter: Any, reasons: tuple[str, ...], terminated: bool = True) -> bool:
    """Whether ``episode_filter`` keeps an episode of env 0 that ended with these termination terms."""
    from isaac_rerun.history import Episode

    extra = {"reasons": reasons} if HAS_REASONS else {}
    return bool(episode_filter(Episode(0, 0, 1.0, 5, terminated, not terminated, **extra)))


# (command, argv, what the RecordingCfg (or, for a flag that sets none, the options) then says, the expected value)
FLAG_EXAMPLES: list[tuple[str, list[str], Any, Any]] = [
    ("train", ["--rerun_dir", "d"], lambda cfg, o: (cfg.save_dir == o.dir, o.dir == Path.cwd() / "d"), (True, True)),
    ("train", ["--rerun_envs", "0,2"], lambda cfg, o: (cfg.logged_envs, cfg.history_envs), ([0, 2], [0, 2])),
    ("train", ["--rerun_trigger", "step"], lambda cfg, o: _fires(cfg.step_trigger, 4001), [0, 2000, 4000]),
    ("train", ["--rerun_interval", "3"], lambda cfg, o: _fires(cfg.iteration_trigger), [0, 3, 6, 9]),
    ("train", ["--rerun_length", "7"], lambda cfg, o: cfg.recording_length, 7),
    ("train", ["--rerun_trails", "cart,tip"], lambda cfg, o: cfg.scene_log_cfg.trails, ("cart", "tip")),
    ("train", ["--rerun_trails", "root"], lambda cfg, o: cfg.scene_log_cfg.trails, True),
    ("train", ["--rerun_layout", "instanced"], lambda cfg, o: cfg.scene_log_cfg.layout, "instanced"),
    ("train", ["--rerun_env_layout", "origin"], lambda cfg, o: cfg.scene_log_cfg.env_layout, "origin"),
    ("train", ["--rerun_signals", "joints,rewards"], lambda cfg, o: cfg.builtin_signals, ("rewards", "joints")),
    ("train", ["--rerun_signals", "all"], lambda cfg, o: len(cfg.builtin_signals), 6),
    ("train", ["--rerun_signals", "none"], lambda cfg, o: cfg.builtin_signals, ()),
    ("train", ["--rerun_camera_codec", "raw"], lambda cfg, o: cfg.scene_log_cfg.camera_codec, "raw"),
    ("train", ["--rerun_viewer", "spawn"], lambda cfg, o: (cfg.viewer, cfg.save_dir), ("spawn", None)),
    ("train", ["--rerun_name_prefix", "abc"], lambda cfg, o: (cfg.name_prefix, o.name_prefix), ("abc", "abc")),
    ("train", ["--rerun_keep", "terminated"], lambda cfg, o: (_keeps(cfg.episode_filter, ()),
     _keeps(cfg.episode_filter, (), terminated=False), cfg.iteration_trigger), (True, False, None)),
    ("train", ["--rerun_keep", "worst", "--rerun_keep_window", "100"], lambda cfg, o: (
     cfg.episode_filter.window, cfg.episode_filter.lowest, cfg.history_length), (100, True, 600)),
    ("train", ["--rerun_nan_guard"], lambda cfg, o: (cfg.nan_guard, cfg.history_envs), (True, "all")),
    ("train", ["--rerun_nan_guard", "--rerun_history", "64"], lambda cfg, o: cfg.history, 64),
    ("train", ["--rerun_backend", "loop"], lambda cfg, o: o.backend, "loop"),
    ("play", ["--rerun_episodes", "2"], lambda cfg, o: (o.episodes, _fires(cfg.episode_trigger)), (2, [0, 1])),
    ("play", ["--rerun_max_steps", "5"], lambda cfg, o: o.max_steps, 5),
]  # fmt: skip


@pytest.mark.parametrize(("action", "argv", "read", "expected"), FLAG_EXAMPLES, ids=lambda v: None)
def test_each_flag_sets_its_recording_option(
    action: str, argv: list[str], read: Any, expected: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each row of the flag table parses and sets the RecordingCfg / SceneLogCfg field it names, and nothing else
    differs from what the defaults give (so a flag cannot set the wrong field unnoticed)."""
    import argparse
    import dataclasses

    from isaac_rerun.cli.options import add_rerun_args, flags, recording_cfg, rerun_options

    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    add_rerun_args(parser, action)
    opts = rerun_options(parser.parse_args(argv), action)
    cfg = recording_cfg(opts, save_dir=opts.dir or "out", name_prefix=opts.name_prefix or "p")
    assert read(cfg, opts) == expected
    plain = rerun_options(parser.parse_args([]), action)
    default = recording_cfg(plain, save_dir=plain.dir or "out", name_prefix=plain.name_prefix or "p")
    given = {f.name for f in flags(action) if f.name in argv}
    fields = {field for f in flags(action) if f.name in given for field in f.fields}
    fields |= {"iteration_trigger"} if "--rerun_keep" in argv else set()  # --rerun_trigger none by default
    fields |= {"iteration_trigger", "step_trigger", "episode_trigger"} if "--rerun_trigger" in argv else set()
    fields |= {"episode_trigger"} if "--rerun_episodes" in argv else set()  # play's trigger stops after N episodes
    if any(f.startswith("scene_log_cfg.") for f in fields):
        fields.add("scene_log_cfg")

    def same(name: str) -> bool:
        a, b = getattr(cfg, name), getattr(default, name)
        if name.endswith("_trigger") and a is not None and b is not None:  # triggers: the same when they fire alike
            return _fires(a, 200) == _fires(b, 200)
        return bool(a == b)

    changed = {f.name for f in dataclasses.fields(cfg) if not same(f.name)}
    assert changed <= fields, (argv, changed - fields)
    assert files_in(tmp_path) == []


def test_every_flag_has_an_example_and_sets_a_field_that_exists() -> None:
    """The flag table: one row per flag, each with a test example above, each named field one of RecordingCfg's or
    SceneLogCfg's; the core's option names map back to a flag."""
    import dataclasses

    from isaac_rerun.cli.options import FLAGS, PREFIX
    from isaac_rerun.config import RecordingCfg, SceneLogCfg

    names = [f.name for f in FLAGS]
    assert len(names) == len(set(names)) and all(n.startswith(PREFIX) for n in names)
    assert set(names) == {a for _, argv, _, _ in FLAG_EXAMPLES for a in argv if a.startswith(PREFIX)}
    core = {f.name for f in dataclasses.fields(RecordingCfg)}
    scene = {f"scene_log_cfg.{f.name}" for f in dataclasses.fields(SceneLogCfg)}
    for flag in FLAGS:
        assert set(flag.fields) <= core | scene, flag.name


@pytest.mark.skipif(not HAS_REASONS, reason="isaac_rerun.history.Episode has no `reasons` yet (issue 20)")
def test_keep_terminated_by_a_termination_term() -> None:
    """``--rerun_keep terminated:TERM[,TERM]`` keeps the episodes whose reasons include one of the terms."""
    import argparse

    from isaac_rerun.cli.options import add_rerun_args, recording_cfg, rerun_options

    parser = argparse.ArgumentParser()
    add_rerun_args(parser, "train")
    for argv, kept in [
        ("terminated:base_contact", [("base_contact",), ("base_contact", "joint_limit")]),
        ("terminated:base_contact,joint_limit", [("base_contact",), ("joint_limit",), ("base_contact", "joint_limit")]),
    ]:
        opts = rerun_options(parser.parse_args(["--rerun_keep", argv]), "train")
        assert opts.trigger == "none" and opts.keep == argv
        f = recording_cfg(opts, save_dir="out", name_prefix="p").episode_filter
        for reasons in [("base_contact",), ("joint_limit",), ("base_contact", "joint_limit"), ("bad_orientation",)]:
            assert _keeps(f, reasons) == (reasons in kept), (argv, reasons)


@pytest.mark.skipif(HAS_RRD_READER, reason="the rerun-sdk here can read the snippets")
def test_ls_and_view_on_an_old_rerun_sdk_say_what_to_install(snippet_folder: Path) -> None:
    """Isaac Lab 2.x's stack (rerun-sdk 0.23) records, but cannot read the snippets back: a clear error, exit 2."""
    for args in (["ls", str(snippet_folder)], ["view", str(snippet_folder), "--last", "1", "--dry_run"]):
        res = cli(*args, cwd=snippet_folder, timeout=60)
        assert res.returncode == 2, tail(res)
        assert "needs a rerun-sdk with rerun.chunk" in res.stderr and "pip install rerun-sdk" in res.stderr


@needs_rrd_reader
def test_ls_reads_the_snippets_from_the_files(snippet_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ls_json(snippet_folder)
    names = [s["name"] for s in out["snippets"]]
    # newest first: the file written last holds two snippets (the later one first)
    assert names == ["t-episode-8", "t-episode-7", "t-env-3-worst-episode-4", "t-step-100", "t-episode-0"]
    assert [Path(m).name for m in out["metrics"]] == ["t-metrics.rrd"] and out["unreadable"] == []
    first = next(s for s in out["snippets"] if s["name"] == "t-episode-0")
    assert (first["trigger"], first["envs"], first["frames"]) == ("episode", [0, 1], 46)
    assert (first["episode_envs"], first["episode_returns"], first["episode_lengths"]) == (
        [0, 1],
        [5.5, 7.25],
        [20, 25],
    )
    assert first["size"] == (snippet_folder / "t-episode-0.rrd").stat().st_size and first["in_file"] == 1
    assert {s["in_file"] for s in out["snippets"] if s["name"].startswith("t-episode-") and s is not first} == {2}
    by_return = [s["name"] for s in ls_json(snippet_folder, "--sort", "return", capsys=capsys)["snippets"]]
    assert by_return == ["t-env-3-worst-episode-4", "t-step-100", "t-episode-7", "t-episode-8", "t-episode-0"]
    by_name = [s["name"] for s in ls_json(snippet_folder, "--sort", "name", capsys=capsys)["snippets"]]
    assert by_name == ["t-env-3-worst-episode-4", "t-episode-0", "t-episode-7", "t-episode-8", "t-step-100"]
    one_file = ls_json(snippet_folder / "many.rrd", capsys=capsys)
    assert [s["name"] for s in one_file["snippets"]] == ["t-episode-8", "t-episode-7"]


@needs_rrd_reader
def test_ls_table(snippet_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = cli("ls", str(snippet_folder), "--sort", "return", cwd=snippet_folder, timeout=120)
    assert res.returncode == 0, tail(res)
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["name", "trigger", "envs", "frames", "sim", "time", "episode", "returns", "episode",
                                "lengths", "ended", "size"]  # fmt: skip
    assert lines[1].split()[:4] == ["t-env-3-worst-episode-4", "kept:", "worst", "3"]
    assert "-9.50" in lines[1] and "30" in lines[1]
    assert lines[1].split()[-3] == "?"  # written like isaac-rerun 0.2.0: no episode_reasons, so unknown
    row = next(line for line in lines if line.startswith("t-episode-0 "))
    assert "0:5.50 1:7.25" in row and "0:20 1:25" in row and "0,1" in row
    assert any(line.startswith("many.rrd:t-episode-7") for line in lines)
    assert "training curves: t-metrics.rrd" in res.stdout
    from isaac_rerun.cli import main

    assert main(["ls", str(snippet_folder / "nope")]) == 2
    assert "PATH" in capsys.readouterr().err


@needs_rrd_reader
def test_ls_reads_facts_from_the_properties_not_the_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A snippet's trigger, envs, iteration and episode reasons come from its properties: a file renamed to a
    meaningless name, holding a snippet whose name says something else, is listed as it was recorded."""
    reasons = {"episode_reasons": ["base_contact", ""], "iteration": 7, "ident": 7}  # "": the recorder did not know
    write_snippet(
        tmp_path / "t-iteration-7.rrd", "t-episode-3", props("iteration", [-2.5, 4.0], [9, 50], [2, 5], **reasons)
    )
    (tmp_path / "t-iteration-7.rrd").rename(tmp_path / "0001.rrd")
    write_snippet(tmp_path / "x.rrd", "t-env-3-worst-episode-4", props("kept", [1.0], [4], [3]))  # 0.2.0 properties
    snippets = {s["name"]: s for s in ls_json(tmp_path, capsys=capsys)["snippets"]}
    renamed = snippets["t-episode-3"]
    assert Path(renamed["path"]).name == "0001.rrd"
    assert (renamed["trigger"], renamed["ident"], renamed["envs"], renamed["iteration"]) == ("iteration", 7, [2, 5], 7)
    assert (renamed["episode_envs"], renamed["episode_reasons"]) == ([2, 5], ["base_contact", ""])
    old = snippets["t-env-3-worst-episode-4"]
    assert (old["trigger"], old["envs"], old["episode_reasons"], old["ident"]) == ("kept", [3], None, None)
    from isaac_rerun.cli import main

    assert main(["ls", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    row = next(line for line in lines if line.startswith("0001 "))
    assert row.split()[1:4] == ["iteration", "7", "2,5"]  # the properties' trigger, not the name's 'episode-3'
    assert "2:base_contact 5:?" in row and header[-2] == "ended"
    row = next(line for line in lines if line.startswith("x "))
    assert row.split()[1] == "kept" and row.split()[-3] == "?"  # the name's 'worst' is only a name


@needs_rrd_reader
def test_view_why_opens_the_snippets_of_episodes_ended_by_a_term(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from isaac_rerun.cli import main

    def snippet(name: str, returns: list[float], envs: list[int], reasons: list[str] | None) -> None:
        extra = {} if reasons is None else {"episode_reasons": reasons}
        write_snippet(tmp_path / f"{name}.rrd", name, props("episode", returns, [10] * len(envs), envs, **extra))
        time.sleep(0.05)

    snippet("fell-and-timed-out", [-4.0, 9.0], [0, 1], ["base_contact", "time_out"])
    snippet("timed-out", [8.0], [0], ["time_out"])
    snippet("fell-at-the-limit", [-1.0], [1], ["base_contact+joint_limit"])
    snippet("old", [-9.0], [0], None)  # isaac-rerun 0.2.0: reasons unknown

    def opened(*args: str) -> list[str]:
        assert main(["view", str(tmp_path), "--dry_run", *args]) == 0
        return [Path(c).stem for c in capsys.readouterr().out.strip().splitlines()[-1].split()[1:]]

    assert opened("--why", "base_contact") == ["fell-at-the-limit", "fell-and-timed-out"]  # newest first
    assert opened("--why", "joint_limit") == ["fell-at-the-limit"]
    assert opened("--why", "time_out", "--worst", "1") == ["fell-and-timed-out"]
    assert opened("--why", "base_contact", "--last", "1") == ["fell-at-the-limit"]
    assert main(["view", str(tmp_path), "--dry_run", "--why", "bad_orientation"]) == 2
    err = capsys.readouterr().err
    assert "--why" in err and "base_contact, joint_limit, time_out" in err


@needs_rrd_reader
def test_view_selects_the_worst_and_the_last(snippet_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from isaac_rerun.cli import main

    res = cli("view", str(snippet_folder), "--worst", "2", "--dry_run", cwd=snippet_folder, timeout=60)
    assert res.returncode == 0, tail(res)
    command = res.stdout.strip().splitlines()[-1].split()
    assert Path(command[0]).name == "rerun"
    assert [Path(c).name for c in command[1:]] == ["t-env-3-worst-episode-4.rrd", "t-step-100.rrd"]
    assert main(["view", str(snippet_folder), "--last", "1", "--dry_run"]) == 0
    assert [Path(c).name for c in capsys.readouterr().out.strip().splitlines()[-1].split()[1:]] == ["many.rrd"]
    assert main(["view", str(snippet_folder), "--last", "1", "--worst", "1"]) == 2
    assert "--worst" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@needs_rrd_reader
def test_view_web_serves_and_answers_on_its_port_then_stops(snippet_folder: Path) -> None:
    web, grpc = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "isaac_rerun", "view", str(snippet_folder), "--web", "--web_port", str(web),
         "--grpc_port", str(grpc), "--last", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        url = None
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?url=\S+)", line)
            url = m.group(1) if m else None
        assert url is not None, proc.stderr.read() if proc.stderr else ""
        assert url == f"http://127.0.0.1:{web}/?url=rerun%2Bhttp%3A%2F%2F127.0.0.1%3A{grpc}%2Fproxy"
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with socket.create_connection(("127.0.0.1", grpc), timeout=10):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    assert rc == 0
    time.sleep(0.5)
    with pytest.raises(OSError):  # the viewer it started is gone with it
        socket.create_connection(("127.0.0.1", web), timeout=2).close()


def test_the_fallback_loop_is_chosen_without_isaac_labs_entrypoints(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['isaaclab_rl.entrypoints'] = None\n"  # as on Isaac Lab 2.x: no unified entrypoint
        "from isaac_rerun.cli import main; from isaac_rerun.cli.inject import available\n"
        "assert not available()\n"
        "sys.exit(main(['train', '--help']))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, tail(res)
    assert "own loop" in res.stdout and "--max_iterations" in res.stdout and "--rerun_interval" in res.stdout


# ---------------------------------------------------------------------------------------------------------- Isaac Lab
@dataclass
class Run:
    cwd: Path
    result: subprocess.CompletedProcess[str]
    seconds: float

    def run_dir(self, pattern: str) -> Path:
        dirs = sorted(self.cwd.glob(pattern))
        assert len(dirs) == 1, (dirs, tail(self.result))
        return dirs[0]


def _train(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str) -> Run:
    cwd = tmp_path_factory.mktemp(name)
    t0 = time.monotonic()
    res = cli(
        "train", "--task", TASK, "--device", "cpu", "--num_envs", "4", "--max_iterations", "1", *args, cwd=cwd
    )  # fmt: skip
    return Run(cwd, res, time.monotonic() - t0)


@pytest.fixture(scope="module")
def rsl_rl_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``isaac-rerun train --rl_library rsl_rl``: the default trigger (every 50th learning iteration: iteration 0),
    3 frames, envs 0 and 1."""
    return _train(tmp_path_factory, "rsl_rl", "--rl_library", "rsl_rl", "--rerun_envs", "0,1", "--rerun_length", "3")


@pytest.fixture(scope="module")
def reference(testbed_pool: Any) -> dict[str, dict[tuple[str, str], np.ndarray]]:
    """The test bed's poses right after a reset and one (zero-action) step later, simulated in this process."""
    import torch

    from testbed_truth import sim_poses

    env = testbed_pool.get_shared()
    env.reset()
    scene = env.unwrapped.scene
    after_reset = sim_poses(scene)
    env.step(torch.zeros(env.unwrapped.num_envs, 1, device=env.unwrapped.device))
    return {"reset": after_reset, "step": sim_poses(scene)}


def assert_frame_is(rrd: Path, frame: int, expected: dict[tuple[str, str], np.ndarray], envs: list[int]) -> None:
    """The poses recorded at ``frame`` equal ``expected`` (the simulator's) for every body in FIXED_BY_RESET."""
    from rrd_readback import quat_close, read_rrd
    from testbed_truth import BODIES

    entities = read_rrd(rrd)
    for env in envs:
        for suffix in FIXED_BY_RESET:
            group, asset, body = BODIES[suffix]
            ent = entities[f"/World/envs/env_{env}/{suffix}"]
            order = ent.sorted_by("frame")
            at = int(np.flatnonzero(ent.timeline("frame", order) == frame)[0])
            truth = expected[(group, asset)][env, body]
            translation = ent.vectors("Transform3D:translation", order)[at]
            quaternion = ent.vectors("Transform3D:quaternion", order)[at]
            np.testing.assert_allclose(translation, truth[:3], atol=1e-4, err_msg=f"env {env} {suffix} frame {frame}")
            assert quat_close(quaternion, truth[3:7], atol=1e-4), (env, suffix, frame, quaternion, truth[3:7])


def snippet_props(rrd: Path) -> dict[str, Any]:
    (snippet,) = ls_json(rrd)["snippets"]
    return snippet


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_train_rsl_rl_records_through_isaac_labs_entrypoint(rsl_rl_run: Run, reference: dict[str, Any]) -> None:
    res = rsl_rl_run.result
    assert res.returncode == 0, tail(res)
    run = rsl_rl_run.run_dir("logs/rsl_rl/isaac_rerun_testbed/*")
    assert sorted(p.name for p in run.glob("model_*.pt")) and (run / "run.json").exists()  # Isaac Lab's own outputs
    rerun_dir = run / "rerun"
    assert sorted(p.name for p in rerun_dir.glob("*.rrd")) == ["rl-rerun-iteration-0.rrd", "rl-rerun-metrics.rrd"]
    verify(sorted(rerun_dir.glob("*.rrd")))
    snippet = snippet_props(rerun_dir / "rl-rerun-iteration-0.rrd")
    assert (snippet["trigger"], snippet["envs"], snippet["frames"], snippet["first_env_step"]) == (
        "iteration",
        [0, 1],
        3,
        0,
    )
    # iteration 0's snippet starts with its first step: the state one step after the reset
    assert_frame_is(rerun_dir / "rl-rerun-iteration-0.rrd", 0, reference["step"], [0, 1])
    import torch

    assert "isaac-rerun: 1 snippet(s) in" in res.stdout
    if not torch.cuda.is_available():  # rsl_rl's agent would default to cuda:0
        assert "added the Hydra override agent.device=cpu" in res.stdout
    print(f"rsl_rl train: {rsl_rl_run.seconds:.0f} s")


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
@pytest.mark.parametrize(
    ("library", "backend", "run_glob", "extra"),
    [
        ("skrl", "auto", "logs/skrl/isaac_rerun_testbed/*_ppo_torch", []),
        ("sb3", "auto", f"logs/sb3/{TASK}/*", ["agent.n_steps=16"]),
        ("sb3", "loop", f"logs/sb3/{TASK}/*", ["agent.n_steps=16"]),
    ],
    ids=["skrl", "sb3", "sb3-fallback-loop"],
)
def test_train_records_the_first_episode_from_its_reset_frame(
    library: str,
    backend: str,
    run_glob: str,
    extra: list[str],
    tmp_path_factory: pytest.TempPathFactory,
    reference: dict[str, Any],
) -> None:
    run = _train(
        tmp_path_factory,
        f"{library}-{backend}",
        "--rl_library", library, "--rerun_backend", backend, "--rerun_envs", "0,1",
        "--rerun_trigger", "episode", "--rerun_interval", "1", "--rerun_length", "3", *extra,
    )  # fmt: skip
    assert run.result.returncode == 0, tail(run.result)
    run_dir = run.run_dir(run_glob)
    checkpoints = list(run_dir.glob("checkpoints/*.pt")) if library == "skrl" else [run_dir / "model.zip"]
    assert checkpoints and all(c.exists() for c in checkpoints)  # Isaac Lab's (or the loop's) checkpoint convention
    snippet = run_dir / "rerun" / "rl-rerun-episode-0.rrd"
    verify(sorted((run_dir / "rerun").glob("*.rrd")))
    props_ = snippet_props(snippet)
    assert (props_["trigger"], props_["envs"], props_["frames"]) == ("episode", [0, 1], 3)
    assert_frame_is(snippet, 0, reference["reset"], [0, 1])  # the env's initial state
    assert_frame_is(snippet, 1, reference["step"], [0, 1])  # one step later, re-simulated here
    print(f"{library} ({backend}) train: {run.seconds:.0f} s")


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_play_records_a_checkpoint_saved_by_train(rsl_rl_run: Run, reference: dict[str, Any]) -> None:
    assert rsl_rl_run.result.returncode == 0, tail(rsl_rl_run.result)
    run = rsl_rl_run.run_dir("logs/rsl_rl/isaac_rerun_testbed/*")
    checkpoint = sorted(run.glob("model_*.pt"))[-1]
    t0 = time.monotonic()
    res = cli(
        "play", "--rl_library", "rsl_rl", "--task", TASK, "--device", "cpu", "--num_envs", "4",
        "--checkpoint", str(checkpoint), "--rerun_episodes", "1", "--rerun_max_steps", "200",
        "env.episode_length_s=0.5",  # a Hydra override, as Isaac Lab takes it: episodes of at most 30 steps
        cwd=rsl_rl_run.cwd,
    )  # fmt: skip
    assert res.returncode == 0, tail(res)
    play_dir = run / "rerun" / "play"
    (snippet,) = play_dir.glob("*.rrd")
    assert snippet.name == f"{checkpoint.stem}-episode-0.rrd"
    assert f"isaac-rerun: 1 snippet(s) in {play_dir}" in res.stdout
    verify([snippet])
    props_ = snippet_props(snippet)
    assert props_["trigger"] == "episode" and props_["envs"] == [0]
    # one whole episode of env 0, from its reset frame to its terminal frame
    (length,) = [n for e, n in zip(props_["episode_envs"], props_["episode_lengths"], strict=True) if e == 0]
    assert props_["frames"] == length + 1 and 0 < length <= 30
    assert_frame_is(snippet, 0, reference["reset"], [0])
    assert_frame_is(snippet, 1, reference["step"], [0])
    listing = ls_json(run / "rerun", "--recursive")
    assert {s["name"] for s in listing["snippets"]} == {"rl-rerun-iteration-0", snippet.stem}
    print(f"rsl_rl play: {time.monotonic() - t0:.0f} s")


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_play_stops_on_max_steps_and_ctrl_c_finishes_the_open_snippet(rsl_rl_run: Run) -> None:
    """``--rerun_max_steps N`` ends play by itself after N env steps, finishing the open snippet (the episode's reset
    frame and N steps); without a limit play runs until Ctrl-C (SIGINT), which finishes the open snippet too."""
    assert rsl_rl_run.result.returncode == 0, tail(rsl_rl_run.result)
    run = rsl_rl_run.run_dir("logs/rsl_rl/isaac_rerun_testbed/*")
    checkpoint = sorted(run.glob("model_*.pt"))[-1]
    args = ["play", "--rl_library", "rsl_rl", "--task", TASK, "--device", "cpu", "--num_envs", "4"]
    args += ["--checkpoint", str(checkpoint), "env.episode_length_s=20.0"]  # no episode ends before the limit
    play_dir = run / "rerun" / "play"
    shutil.rmtree(play_dir, ignore_errors=True)
    res = cli(*args, "--rerun_max_steps", "12", cwd=rsl_rl_run.cwd, timeout=300)  # a missed limit: a timeout
    assert res.returncode == 0, tail(res)
    (snippet,) = play_dir.glob("*.rrd")
    assert snippet.name == f"{checkpoint.stem}-episode-0.rrd"
    verify([snippet])
    props_ = snippet_props(snippet)
    assert (props_["frames"], props_["first_env_step"], props_["last_env_step"]) == (13, 0, 11), props_
    # no limit: Ctrl-C while the episode's snippet is open
    shutil.rmtree(play_dir)
    log = (rsl_rl_run.cwd / "play-sigint.log").open("w")
    cmd = [sys.executable, "-m", "isaac_rerun", *args]
    proc = subprocess.Popen(cmd, cwd=rsl_rl_run.cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list(play_dir.glob("*.rrd")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(15.0)  # well into the snippet (the first steps of play are slow)
        assert proc.poll() is None, (rsl_rl_run.cwd / "play-sigint.log").read_text()[-3000:]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    from rrd_readback import read_rrd

    # every episode's snippet, the one open at Ctrl-C included, finished (footer, final properties) and whole
    snippets = sorted(play_dir.glob("*.rrd"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert snippets and snippets[0].name == f"{checkpoint.stem}-episode-0.rrd"
    verify(snippets)
    for snippet in snippets:
        props_ = snippet_props(snippet)
        assert props_["frames"] is not None and props_["frames"] >= 1, props_
        base = read_rrd(snippet)["/World/envs/env_0/Robot/base"]
        assert len(base.sorted_by("frame")) == props_["frames"], f"{snippet.name}: every frame, the buffered too"


@pytest.mark.isaaclab
def test_ls_rows_hold_the_returns_the_env_returned(make_testbed_env: Any, tmp_path: Path) -> None:
    """Snippets recorded through LogRerun in this process: ``ls`` shows each whole episode with the return and
    length that the env's own rewards and done flags give."""
    import torch

    from isaac_rerun import LogRerun

    env = LogRerun(
        make_testbed_env(episode_length_s=0.5),  # episodes of at most 30 steps
        save_dir=tmp_path,
        logged_envs=[0, 1],
        episode_trigger=lambda i: i < 2,
        name_prefix="t",
    )
    base = env.unwrapped
    generator = torch.Generator().manual_seed(0)
    returns = np.zeros(base.num_envs)
    lengths = np.zeros(base.num_envs, dtype=int)
    episodes: list[tuple[int, float, int]] = []
    try:
        env.reset()
        for _ in range(200):
            actions = 2 * torch.rand(base.num_envs, 1, generator=generator) - 1
            _, rew, terminated, truncated, _ = env.step(actions.to(base.device))
            returns += rew.double().cpu().numpy()
            lengths += 1
            for e in np.flatnonzero((terminated | truncated).cpu().numpy()):
                episodes.append((int(e), float(returns[e]), int(lengths[e])))
                returns[e], lengths[e] = 0.0, 0
            if env.episode_id >= 2:
                break
    finally:
        env.close()
    assert sum(1 for e, _, _ in episodes if e == 0) >= 2
    listing = ls_json(tmp_path)
    snippets = {s["name"]: s for s in listing["snippets"]}
    assert sorted(snippets) == ["t-episode-0", "t-episode-1"]
    tracked = [ep for ep in episodes if ep[0] == 0]
    seen = 0
    for k, name in enumerate(["t-episode-0", "t-episode-1"]):
        s = snippets[name]
        rows = list(zip(s["episode_envs"], s["episode_returns"], s["episode_lengths"], strict=True))
        assert rows, name
        for env_id, ret, n in rows:  # every whole episode it lists is one the env returned, with its return
            assert any(
                e == env_id and n == m and math.isclose(ret, r, rel_tol=1e-5, abs_tol=1e-5) for e, r, m in episodes
            )
            seen += 1
        # the tracked env's k-th episode is the snippet's, from its reset frame to its terminal frame
        assert (0, pytest.approx(tracked[k][1], rel=1e-5, abs=1e-5), tracked[k][2]) in rows
        assert s["frames"] == tracked[k][2] + 1
    res = cli("ls", str(tmp_path), cwd=tmp_path, timeout=120)
    assert res.returncode == 0 and f"{tracked[0][1]:.2f}" in res.stdout, tail(res)
    assert seen >= 2


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_keep_terminated_by_a_term_then_ls_and_view_why(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The manager-based test bed trained with ``--rerun_keep terminated:pole_fell``: every snippet kept is a whole
    episode that Isaac Lab's termination manager ended by ``pole_fell`` (as its properties say: ``ls``'s ``ended``),
    and ``view --why pole_fell`` opens exactly those."""
    run = _train(
        tmp_path_factory, "keep-pole-fell", "--rl_library", "rsl_rl", "--task", "IsaacRerun-Testbed-Managed",
        "--max_iterations", "3", "--rerun_keep", "terminated:pole_fell",
    )  # fmt: skip
    assert run.result.returncode == 0, tail(run.result)
    rerun_dir = run.run_dir("logs/rsl_rl/*/*") / "rerun"
    listing = ls_json(rerun_dir)
    kept = listing["snippets"]
    assert kept and listing["unreadable"] == [], listing
    for s in kept:
        assert s["trigger"].startswith("kept") and len(s["episode_envs"]) == 1, s
        (reason,) = s["episode_reasons"]
        assert "pole_fell" in reason.split("+"), s
        assert s["frames"] == s["episode_lengths"][0] + 1  # from its reset frame to its terminal frame
    res = cli("ls", str(rerun_dir), cwd=rerun_dir, timeout=120)
    assert res.returncode == 0 and "pole_fell" in res.stdout.splitlines()[1], tail(res)
    res = cli("view", str(rerun_dir), "--why", "pole_fell", "--dry_run", cwd=rerun_dir, timeout=120)
    assert res.returncode == 0, tail(res)
    opened = sorted(Path(c).name for c in res.stdout.strip().splitlines()[-1].split()[1:])
    assert opened == sorted(Path(s["path"]).name for s in kept)
    print(f"keep terminated:pole_fell train: {run.seconds:.0f} s, {len(kept)} kept")


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["train", "--rl_library", "rsl_rl", "--task", "IsaacRerun-No-Such-Task", "--device", "cpu"], "--task"),
        (["train", "--rl_library", "skrl", "--task", TASK, "--device", "cpu", "--rerun_envs", "7"], "--rerun_envs"),
    ],
    ids=["unregistered-task", "envs-beyond-the-task-cfg"],
)
def test_bad_flags_found_with_isaac_lab_write_nothing(args: list[str], flag: str, tmp_path: Path) -> None:
    res = cli(*args, cwd=tmp_path, timeout=300)
    assert res.returncode == 2, tail(res)
    assert re.search(rf"error: {flag}\b", res.stderr), tail(res)
    assert files_in(tmp_path) == []


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
@pytest.mark.parametrize(
    ("action", "library"), [(a, lib) for a in ("train", "play") for lib in ("rsl_rl", "skrl", "sb3")]
)
def test_preflight_accepts_isaac_lab_3_0(action: str, library: str) -> None:
    """Isaac Lab 3.0's entrypoints pass the preflight, which checks exactly the injection points isaac-rerun patches
    (written out here from Isaac Lab 3.0's ``isaaclab_rl.entrypoints``, not taken from ``seams()``)."""
    from isaac_rerun.cli.inject import preflight, seams

    entry = "isaaclab_rl.entrypoints"
    backend = f"{entry}.backends.{action}_{library}"
    want = {
        (f"{entry}.dispatch", "run_cli"),
        (f"{entry}.common", "add_video_args"),
        (backend, "pre_launch_video_config"),
        (backend, "create_isaaclab_env"),
    }
    if action == "play":
        want.add((backend, "run_playback"))
    else:
        want |= {
            "rsl_rl": {
                (backend, "create_rsl_rl_runner"),
                ("isaaclab_rl.rsl_rl.utils", "OnPolicyRunner"),
                ("isaaclab_rl.rsl_rl.utils", "DistillationRunner"),
            },
            "skrl": {(backend, "import_skrl_runner")},
            "sb3": {(backend, "PPO")},
        }[library]
    assert {(s.module, s.name) for s in seams(action, library)} == want
    modules = preflight(action, library)
    assert set(modules) == {m for m, _ in want}
    for module, name in want:
        assert modules[module] is sys.modules[module] and callable(getattr(modules[module], name)), (module, name)


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_a_moved_injection_point_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import isaaclab_rl.entrypoints.backends.play_skrl as play_skrl
    import isaaclab_rl.entrypoints.backends.train_rsl_rl as train_rsl_rl
    import isaaclab_rl.entrypoints.backends.train_sb3 as train_sb3
    import isaaclab_rl.entrypoints.common as common

    from isaac_rerun.cli.common import isaaclab_version
    from isaac_rerun.cli.inject import Injection, InjectionError, preflight

    version = isaaclab_version()
    with monkeypatch.context() as m:
        m.delattr(train_rsl_rl, "create_rsl_rl_runner")
        with pytest.raises(InjectionError, match=rf"{version}.*train_rsl_rl\.create_rsl_rl_runner does not exist"):
            preflight("train", "rsl_rl")
    with monkeypatch.context() as m:
        m.setattr(common, "add_video_args", lambda parser, *, mode: None)
        with pytest.raises(InjectionError, match=r"common\.add_video_args no longer takes \['action'\]"):
            preflight("train", "skrl")
    with monkeypatch.context() as m:
        m.setattr(train_sb3, "PPO", object)
        with pytest.raises(InjectionError, match=r"train_sb3\.PPO is .*not stable_baselines3\.PPO"):
            preflight("train", "sb3")
    with monkeypatch.context() as m:  # the backend stops looking the name up (e.g. calls it through another module)
        m.setattr(play_skrl, "run", lambda argv: None)
        m.setattr(play_skrl, "_run", lambda args_cli: None)
        with pytest.raises(InjectionError, match=r"backends\.play_skrl\.\w+ is no longer looked up by name in"):
            preflight("play", "skrl")
    # at run time: a hook that never fired (a bypassed patch) fails the run
    import argparse

    from isaac_rerun.cli.options import add_rerun_args, rerun_options

    parser = argparse.ArgumentParser()
    add_rerun_args(parser, "train")
    opts = rerun_options(parser.parse_args([]), "train")
    injection = Injection("train", "sb3", opts, preflight("train", "sb3"))
    for name in ("add_video_args", "pre_launch_video_config", "create_isaaclab_env", "PPO"):
        injection.hit(name)
    with pytest.raises(InjectionError, match=r"without calling learn through isaac-rerun's hooks"):
        injection.check_fired()
    injection.hit("learn")
    injection.check_fired()


@pytest.mark.isaaclab
@pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
def test_a_moved_injection_point_stops_the_command_before_it_writes(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import isaaclab_rl.entrypoints.backends.train_sb3 as backend\n"
        "del backend.PPO  # as if an Isaac Lab upgrade renamed it\n"
        "from isaac_rerun.cli import main\n"
        f"sys.exit(main(['train', '--rl_library', 'sb3', '--task', '{TASK}', '--device', 'cpu', '--num_envs', '4']))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, tail(res)
    assert "isaaclab_rl.entrypoints.backends.train_sb3.PPO does not exist" in res.stderr
    assert "--rerun_backend loop" in res.stderr
    assert files_in(tmp_path) == []
