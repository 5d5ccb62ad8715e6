"""``isaac-rerun train --num_gpus N``: Isaac Lab's multi-GPU launcher with isaac-rerun's worker, recording on one rank.

Fast tests: the flags refused before anything starts (no Isaac Lab needed). Isaac Lab 3.0 tests (``isaaclab``):

* the launch command, built in this process: Isaac Lab's own ``train_multigpu`` command with isaac-rerun's worker
  script in place of Isaac Lab's (compared with the command Isaac Lab builds itself), the flags forwarded, one run
  timestamp for every rank; a moved launcher function fails loudly.
* two real ranks under ``torchrun --nproc_per_node 2`` on this CPU-only machine, started by ``isaac-rerun train
  --num_gpus 2`` as a subprocess: both train the test bed with rsl_rl (2 iterations, 4 envs each), rank 1 records
  (``--rerun_rank 1``), rank 0 writes no snippet; every snippet verifies and holds the frames asked for, its first
  frame the simulator's state (re-simulated in this process, as ``tests/test_cli.py`` does). The same with skrl
  (``slow``).
* the own loop (``--rerun_backend loop``, Isaac Lab 2.x's path) with ``--distributed`` on both ranks (``slow``).
* a rank that dies (rank 1, SIGKILL) while the recording rank 0 records: the launcher stops rank 0 (torchrun's
  SIGTERM, or the process group's error), and rank 0's files are complete and readable (``slow``).

**CPU stand-ins.** There is no GPU here: a **gloo** process group stands in for NCCL, the CPU for each rank's
``cuda:<local rank>``. Isaac Lab, rsl_rl and skrl refuse distributed training without CUDA in five places, and only
those are replaced, in every process of the run, by ``tests/multigpu_cpu/sitecustomize.py`` (on ``PYTHONPATH``; its
docstring lists them): the launcher's count of visible GPUs, ``--distributed``'s ``cuda:<local rank>`` device (cpu),
``validate_distributed_device`` (refuses cpu), rsl_rl's ``_configure_multi_gpu`` and skrl's start-up (their own code,
with gloo for NCCL and no ``torch.cuda.set_device``; skrl's default device cpu). Each run costs ~1.5-2 min on 2
shared cores (two Isaac Lab processes).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from isaac_rerun.cli import main

TASK = "IsaacRerun-Testbed-Direct"
STANDINS = Path(__file__).resolve().parent / "multigpu_cpu"
HAS_ENTRYPOINTS = importlib.util.find_spec("isaaclab_rl") is not None and (
    importlib.util.find_spec("isaaclab_rl.entrypoints") is not None
)
needs_entrypoints = pytest.mark.skipif(not HAS_ENTRYPOINTS, reason="needs Isaac Lab 3.x (isaaclab_rl.entrypoints)")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$")


# ---------------------------------------------------------------------------------------------------------- helpers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def standin_env(**extra: str) -> dict[str, str]:
    """The environment of a CPU run: the stand-ins on PYTHONPATH (see the module docstring)."""
    path = os.pathsep.join(p for p in (str(STANDINS), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", "ISAAC_RERUN_CPU_GPUS": "2", **extra}


def train_command(*args: str, library: str = "rsl_rl") -> list[str]:
    return [
        sys.executable, "-m", "isaac_rerun", "train", "--num_gpus", "2", "--master_port", str(free_port()),
        "--rl_library", library, "--task", TASK, "--device", "cpu", "--num_envs", "4", *args,
    ]  # fmt: skip


def tail(out: str, n: int = 4000) -> str:
    return out[-n:]


def verify(paths: list[Path]) -> None:
    """``rerun rrd verify`` accepts every file."""
    rerun = Path(sys.executable).with_name("rerun")
    res = subprocess.run([str(rerun), "rrd", "verify", *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def ls_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["ls", str(folder), "--json"]) == 0
    return list(json.loads(capsys.readouterr().out)["snippets"])


def body_frames(rrd: Path) -> dict[str, list[int]]:
    """The recorded frames of every env body entity (``/World/envs/env_N/...`` with a translation), read back."""
    from rrd_readback import read_rrd

    out = {}
    for path, ent in read_rrd(rrd).items():
        if path.startswith("/World/envs/env_") and "Transform3D:translation" in ent.columns and "frame" in ent.columns:
            order = ent.sorted_by("frame")
            assert np.isfinite(ent.vectors("Transform3D:translation", order)).all(), path
            out[path] = [int(f) for f in ent.timeline("frame", order)]
    return out


# ---------------------------------------------------------------------------------------------------------- fast
@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--rl_library", "sb3", "--num_gpus", "2"], "--rl_library"),
        (["--rl_library", "rsl_rl", "--nnodes", "2"], "--nnodes"),
        (["--rl_library", "rsl_rl", "--rerun_rank", "1"], "--rerun_rank"),
        (["--rl_library", "rsl_rl", "--distributed"], "--distributed"),
        (["--rl_library", "rsl_rl", "--num_gpus", "0"], "--num_gpus"),
    ],
    ids=["sb3", "nnodes-alone", "rerun_rank-alone", "distributed-alone", "zero-gpus"],
)
def test_refused_before_anything_starts(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--task", TASK, *args])
    err = capsys.readouterr().err
    assert status == 2, err
    assert flag in err
    assert not any(tmp_path.iterdir())  # nothing written
    if flag == "--rl_library":
        assert "sb3 has no multi-GPU training in Isaac Lab" in err
    if flag == "--distributed":
        assert "--num_gpus" in err


def test_play_has_no_multigpu_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["play", "--rl_library", "rsl_rl", "--task", TASK, "--num_gpus", "2"]) == 2
    assert "--num_gpus: isaac-rerun play runs on one GPU" in capsys.readouterr().err


def test_train_help_lists_the_multigpu_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "multi-GPU:" in out
    for flag in ("--num_gpus N", "--nnodes M", "--node_rank K", "--rdzv_endpoint HOST:PORT", "--rerun_rank R"):
        assert flag in out, flag


def test_a_rank_that_does_not_record_gets_no_rerun_flag() -> None:
    from isaac_rerun.cli.worker import plain_argv

    argv = [
        "--rl_library", "rsl_rl", "--task", TASK, "--rerun_envs", "0,1", "--num_envs", "8", "--rerun_length=3",
        "--rerun_nan_guard", "--seed", "-1", "agent.device=cpu", "--rerun_backend", "isaaclab", "--distributed",
    ]  # fmt: skip
    assert plain_argv(argv) == [
        "--rl_library", "rsl_rl", "--task", TASK, "--num_envs", "8", "--seed", "-1", "agent.device=cpu",
        "--distributed",
    ]  # fmt: skip


def test_without_isaac_labs_launcher_the_command_is_torchrun_with_the_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isaac Lab 2.x has no launcher (``isaaclab_launcher()`` is None there): the same torchrun command, built here."""
    from isaac_rerun.cli import launch

    monkeypatch.setattr(launch, "isaaclab_launcher", lambda: None)
    run = launch.launch_command(
        ["--num_gpus", "4", "--nnodes", "2", "--node_rank", "0", "--rdzv_endpoint", "head:29400",
         "--rl_library", "skrl", "--task", TASK, "--rerun_rank", "5"],
        rerun_rank=5,
    )  # fmt: skip
    at = run.command.index(launch.WORKER_SCRIPT)
    assert run.command[:at] == [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "4",
        "--nnodes", "2", "--node_rank", "0", "--rdzv_endpoint", "head:29400",
    ]  # fmt: skip
    assert run.command[at + 1 :] == [
        "--rl_library", "skrl", "--task", TASK, "--rerun_rank", "5", f"--run_timestamp={run.timestamp}",
        "--distributed",
    ]  # fmt: skip
    assert STAMP.match(run.timestamp) and (run.nproc_per_node, run.nnodes, run.supervise) == (4, "2", launch._supervise)


# ---------------------------------------------------------------------------------------------------------- the command
@pytest.mark.isaaclab
@needs_entrypoints
def test_the_launch_is_isaac_labs_own_with_isaac_reruns_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # Isaac Lab's launcher counts the visible GPUs from CUDA_VISIBLE_DEVICES first: two stand for a 2-GPU node
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    from isaaclab_rl.entrypoints import multigpu as isaaclab_multigpu

    from isaac_rerun.cli import launch, worker

    user = [
        "--num_gpus", "2", "--nnodes", "2", "--node_rank", "1", "--rdzv_endpoint", "head:29400",
        "--rl_library", "rsl_rl", "--task", TASK, "--rerun_envs", "0,1", "--rerun_rank", "3",
        "--max_iterations", "5", "env.scene.num_envs=8",
    ]  # fmt: skip
    run = launch.launch_command(user, rerun_rank=3)
    cmd = run.command
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    at = cmd.index(launch.WORKER_SCRIPT)
    assert Path(launch.WORKER_SCRIPT) == Path(worker.__file__).resolve() and Path(launch.WORKER_SCRIPT).is_file()
    torchrun, ranks = cmd[3:at], cmd[at + 1 :]
    pairs = dict(zip(torchrun[::2], torchrun[1::2], strict=True))
    assert pairs == {
        "--nproc_per_node": "2",
        "--nnodes": "2",
        "--node_rank": "1",
        "--rdzv_endpoint": "head:29400",
        "--local_ranks_filter": "0,1",  # rank 3 is local rank 1 of its node: its console is shown too
    }
    # every rank: the library, the user's flags in their order, one run timestamp, --distributed
    stamps = [a for a in ranks if a.startswith("--run_timestamp")]
    assert len(stamps) == 1 and STAMP.match(stamps[0].partition("=")[2]), ranks
    assert run.timestamp == stamps[0].partition("=")[2]
    assert ranks == [
        "--rl_library", "rsl_rl", "--task", TASK, "--rerun_envs", "0,1", "--rerun_rank", "3", "--max_iterations", "5",
        "env.scene.num_envs=8", stamps[0], "--distributed",
    ]  # fmt: skip
    assert (run.nproc_per_node, run.nnodes, run.rerun_rank, run.dry_run) == (2, "2", 3, False)

    # Isaac Lab's own train_multigpu builds the same command, its worker in place of isaac-rerun's
    theirs = isaac_multigpu_command(isaaclab_multigpu, [*user, stamps[0]])
    assert theirs[theirs.index("--local_ranks_filter") + 1] == "0"
    assert without_filter(cmd) == [
        launch.WORKER_SCRIPT if c == isaaclab_multigpu.WORKER_SCRIPT else c for c in without_filter(theirs)
    ]

    # a timestamp given is every rank's; rank 0 records by default and local rank 0's console is the only one shown
    given = launch.launch_command(["--num_gpus", "2", "--rl_library", "skrl", "--run_timestamp", "2020-01-01_00-00-00"])
    assert given.timestamp == "2020-01-01_00-00-00"
    assert sum(a.startswith("--run_timestamp") for a in given.command) == 1
    assert given.command[given.command.index("--local_ranks_filter") + 1] == "0"


def without_filter(command: list[str]) -> list[str]:
    at = command.index("--local_ranks_filter")
    return command[:at] + command[at + 2 :]


def isaac_multigpu_command(module: Any, argv: list[str]) -> list[str]:
    """The command of Isaac Lab's ``isaaclab train_multigpu ARGV``."""
    return [str(c) for c in module._build_distributed_command(*module._parse_args(argv))]


@pytest.mark.isaaclab
@needs_entrypoints
@pytest.mark.parametrize(
    ("module", "name", "message"),
    [
        ("isaaclab.cli.multigpu", "build_launch_command", "isaaclab.cli.multigpu.build_launch_command does not"),
        ("isaaclab_rl.entrypoints.multigpu", "LAUNCHER_CFG", "isaaclab_rl.entrypoints.multigpu.LAUNCHER_CFG does not"),
    ],
)
def test_a_moved_launcher_fails_loudly(module: str, name: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from isaac_rerun.cli.common import isaaclab_version
    from isaac_rerun.cli.inject import InjectionError
    from isaac_rerun.cli.launch import launch_command

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.delattr(importlib.import_module(module), name)
    with pytest.raises(InjectionError, match=re.escape(f"Isaac Lab {isaaclab_version()}'s launcher: {message}")):
        launch_command(["--num_gpus", "2", "--rl_library", "rsl_rl", "--task", TASK])


@pytest.mark.isaaclab
@needs_entrypoints
def test_rerun_rank_outside_the_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--rl_library", "rsl_rl", "--task", TASK, "--num_gpus", "2", "--rerun_rank", "2"]) == 2
    err = capsys.readouterr().err
    assert "--rerun_rank: must be a global rank of this run, in [0, 1]" in err
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------------------- two ranks
@pytest.fixture(scope="module")
def reference(testbed_pool: Any) -> dict[str, Any]:
    """The test bed's poses one (zero-action) step after a reset, simulated in this process."""
    import torch

    from testbed_truth import sim_poses

    env = testbed_pool.get_shared()
    env.reset()
    env.step(torch.zeros(env.unwrapped.num_envs, 1, device=env.unwrapped.device))
    return sim_poses(env.unwrapped.scene)


@pytest.mark.isaaclab
@needs_entrypoints
@pytest.mark.parametrize("library", ["rsl_rl", pytest.param("skrl", marks=pytest.mark.slow)])
def test_two_ranks_train_and_only_the_chosen_rank_records(
    library: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    args = [
        "--max_iterations", "2", "--rerun_rank", "1", "--rerun_envs", "0,1",
        "--rerun_trigger", "iteration", "--rerun_interval", "1", "--rerun_length", "3",
    ]  # fmt: skip
    t0 = time.monotonic()
    res = subprocess.run(
        train_command(*args, library=library),
        cwd=tmp_path,
        env=standin_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.monotonic() - t0
    out = res.stdout + res.stderr
    assert res.returncode == 0, tail(out)  # torchrun exits 0 only when every rank did
    launched = next(line for line in res.stdout.splitlines() if line.startswith("isaac-rerun: launching: "))
    assert "-m torch.distributed.run --nproc_per_node 2" in launched and "cli/worker.py" in launched
    assert "global rank 1 records" in res.stdout
    if library == "rsl_rl":  # both ranks trained to the end (both consoles are shown)
        assert res.stdout.count("Training time:") == 2, tail(out)

    (run,) = (tmp_path / "logs" / library / "isaac_rerun_testbed").iterdir()  # one run folder: one timestamp
    assert STAMP.match(run.name.removesuffix("_ppo_torch"))
    if library == "rsl_rl":  # rank 0's checkpoints, where a single-GPU run puts them
        assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_1.pt"]
    else:
        assert list(run.glob("checkpoints/agent_*.pt"))
    assert (run / "rank_1" / "params" / "env.yaml").is_file()  # rank 1 in the same run folder
    snippets = sorted(tmp_path.rglob("*.rrd"))
    rerun_dir = run / "rank_1" / "rerun"
    assert [p.relative_to(rerun_dir).as_posix() for p in snippets] == [
        "rl-rerun-iteration-0.rrd",
        "rl-rerun-iteration-1.rrd",
    ]  # rank 0 recorded nothing (the libraries log their curves on rank 0 only: rank 1 has no metrics file)
    verify(snippets)
    rows = ls_json(rerun_dir, capsys)
    assert sorted((r["name"], r["trigger"], r["envs"], r["frames"]) for r in rows) == [
        ("rl-rerun-iteration-0", "iteration", [0, 1], 3),
        ("rl-rerun-iteration-1", "iteration", [0, 1], 3),
    ]
    for rrd in snippets:
        frames = body_frames(rrd)
        assert {p.split("/")[3] for p in frames} == {"env_0", "env_1"}
        assert all(f == [0, 1, 2] for f in frames.values()), frames
    if library == "rsl_rl":  # iteration 0's snippet starts with its first step: the state one step after the reset
        from test_cli import assert_frame_is

        assert_frame_is(rerun_dir / "rl-rerun-iteration-0.rrd", 0, request.getfixturevalue("reference"), [0, 1])
    print(f"{library}: 2 ranks x 2 iterations: {seconds:.0f} s")


# ---------------------------------------------------------------------------------------------------------- a rank dies
def stop(proc: subprocess.Popen[Any], pids: Path) -> None:
    """Whatever happened, leave no process of the run behind: SIGTERM to the launcher (Isaac Lab's supervisor stops
    its torchrun group), then SIGKILL to the ranks and their torchrun that are still there."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pid_file in pids.glob("rank_*.pid"):
        pid = int(pid_file.read_text())
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            torchrun = b"torch.distributed.run" in Path(f"/proc/{parent}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone
        for victim in (pid, parent) if torchrun else (pid,):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


@pytest.mark.isaaclab
@pytest.mark.slow
@needs_entrypoints
def test_a_rank_that_dies_leaves_the_recording_ranks_files_readable(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    args = ["--max_iterations", "500", "--rerun_trigger", "iteration", "--rerun_interval", "1", "--rerun_length", "40"]
    log = tmp_path / "out.txt"
    with log.open("w") as out_file:
        proc = subprocess.Popen(
            train_command(*args),
            cwd=work,
            env=standin_env(ISAAC_RERUN_PID_DIR=str(pids)),
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 420
        # rank 0 has written its training curves of iteration 0 (the metrics file) and records iteration 1
        while not list(work.glob("logs/rsl_rl/*/*/rerun/rl-rerun-iteration-1.rrd")):
            assert proc.poll() is None and time.monotonic() < deadline, "rank 0 never started recording"
            time.sleep(0.5)
        time.sleep(1.0)
        os.kill(int((pids / "rank_1.pid").read_text()), signal.SIGKILL)
        proc.wait(timeout=180)
    finally:
        stop(proc, pids)
    out = log.read_text()
    assert proc.returncode != 0, tail(out)
    assert "Training time:" not in out  # rank 0 did not finish its 500 iterations
    (run,) = work.glob("logs/rsl_rl/*/*")
    files = sorted(work.rglob("*.rrd"))
    assert files and all(f.parent == run / "rerun" for f in files), files  # rank 0's only
    assert (run / "rerun" / "rl-rerun-metrics.rrd") in files
    verify(files)  # complete and readable: finished by rank 0 as it was stopped
    from rerun.chunk import RrdReader

    for rrd in files:
        RrdReader(str(rrd)).stream().collect()
    snippets = [f for f in files if "iteration" in f.name]
    assert snippets
    for rrd in snippets:
        frames = body_frames(rrd)
        assert frames and all(f == list(range(len(f))) and f for f in frames.values()), (rrd.name, frames)
    stopped = re.search(r"rank\s*: 0 \(local_rank: 0\)\s+exitcode\s*: (-?\d+)", out)
    code = stopped.group(1) if stopped else "?"
    print(f"rank 0's exit code: {code} (-15: torchrun's SIGTERM); {len(snippets)} snippets")


# ---------------------------------------------------------------------------------------------------------- own loop
@pytest.mark.isaaclab
@pytest.mark.slow
@needs_entrypoints
def test_the_own_loop_runs_distributed_on_every_rank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--rerun_backend loop`` (Isaac Lab 2.x's path, forced here): every rank runs isaac-rerun's own loop with
    ``--distributed``; rank 0 records, into the one run folder."""
    args = ["--rerun_backend", "loop", "--max_iterations", "1", "--rerun_length", "3", "--rerun_interval", "1"]
    res = subprocess.run(
        train_command(*args), cwd=tmp_path, env=standin_env(), capture_output=True, text=True, timeout=600
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, tail(out)
    assert "--rerun_backend loop" in res.stdout and "--distributed" in res.stdout
    (run,) = (tmp_path / "logs" / "rsl_rl" / "isaac_rerun_testbed").iterdir()
    assert STAMP.match(run.name) and (run / "model_0.pt").is_file()  # rank 0's checkpoint, where one GPU puts it
    snippets = sorted(tmp_path.rglob("*.rrd"))
    assert [p.relative_to(run).as_posix() for p in snippets] == [
        "rerun/rl-rerun-iteration-0.rrd",
        "rerun/rl-rerun-metrics.rrd",
    ]
    verify(snippets)
    (row,) = ls_json(run / "rerun", capsys)
    assert (row["trigger"], row["envs"], row["frames"]) == ("iteration", [0], 3)
    assert all(f == [0, 1, 2] for f in body_frames(snippets[0]).values())


@pytest.mark.isaaclab
@needs_entrypoints
def test_dry_run_prints_what_each_rank_records_and_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # Isaac Lab's launcher counts them: a 2-GPU node
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["train", "--rl_library", "rsl_rl", "--task", TASK, "--num_gpus", "2", "--rerun_rank", "1",
                 "--dry_run"]) == 0  # fmt: skip
    first, second = capsys.readouterr().out.splitlines()[-2:]
    assert "2 rank(s) per node x 1 node(s)" in first and "global rank 1 records" in first
    assert re.search(r"snippets in logs/<library>/<experiment>/\d{4}-[\d_-]+\*/rank_1/rerun\)", first), first
    assert second.startswith("isaac-rerun: launching: ") and "-m torch.distributed.run --nproc_per_node 2" in second
    assert "isaac_rerun/cli/worker.py --rl_library rsl_rl" in second and second.endswith("--distributed")
    assert not any(tmp_path.iterdir())  # nothing started, nothing written
