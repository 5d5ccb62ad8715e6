"""``SIGTERM`` mid-snippet, under each integration (``sigterm_child.py``): the recorder finishes the open snippet and
the metrics file, as on Ctrl-C, then the signal does what it did before — the process dies of ``SIGTERM`` (the
default), or the training script's own handler runs. Every file then passes ``rerun rrd verify``."""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rrd_readback import read_rrd

CHILD = Path(__file__).with_name("sigterm_child.py")
RERUN = Path(sys.executable).with_name("rerun")
pytestmark = pytest.mark.skipif(not RERUN.exists(), reason="needs the rerun CLI next to the Python executable")


def run_child(
    tmp_path: Path, framework: str, handler: str = "default", timeout: float = 600, fail_inside: str | None = None
) -> tuple[int, Path, Path]:
    """Start the child, wait until it is ready, send ``SIGTERM`` (unless ``fail_inside``: the child sends it to itself
    while finishing that file) and wait for it to end."""
    out, ready = tmp_path / "rerun", tmp_path / "ready"
    log = (tmp_path / "child.log").open("w")
    cmd = [sys.executable, str(CHILD), framework, str(out), str(ready), "--handler", handler]
    if fail_inside is not None:
        cmd += ["--fail-inside", fail_inside]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), f"the child never got ready:\n{(tmp_path / 'child.log').read_text()[-5000:]}"
        if fail_inside is None:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    return rc, out, ready


def step_of(path: Path) -> int:
    """The env step a ``…-step-N`` snippet started at (file names sort as text: ``step-128`` < ``step-48``)."""
    return int(re.fullmatch(r".*-step-(\d+)", path.stem).group(1))


def check_files(out: Path, ready: Path, metrics: bool) -> None:
    """The snippet open at the signal is finished with exactly the frames recorded until then (``READY`` says which
    and how many: the child waited for the signal inside ``env.step()``), the earlier ones are whole, every file
    passes ``rerun rrd verify`` and, when ``metrics``, the metrics file holds the training's scalars."""
    status = json.loads(ready.read_text())
    files = sorted(out.glob("*.rrd"))
    snippets = sorted((p for p in files if not p.stem.endswith("-metrics")), key=step_of)
    assert [step_of(p) for p in snippets] == [8, 48, 88, 128], [p.name for p in files]
    assert any(p.stem.endswith("-metrics") for p in files) == metrics
    res = subprocess.run([str(RERUN), "rrd", "verify", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    last = snippets[-1]
    assert last.stem == status["snippet"] and status["first_step"] == 128, status
    for path in snippets:
        frames = status["frames"] if path == last else 20  # recording_length=20
        ents = read_rrd(path)
        props = ents[f"/__properties/{path.stem}"].static
        # written when the snippet is finished: the recorder finished it, not just flushed it
        assert props["frames"] == [frames], (path.name, props)
        bodies = [e for p, e in ents.items() if p.startswith("/World/envs/env_") and e.n]
        assert bodies, path.name
        for ent in bodies:
            order = ent.sorted_by("frame")
            assert list(ent.timeline("frame", order)) == list(range(frames)), path.name
            steps = ent.timeline("env_step", order)
            assert steps[0] == step_of(path), path.name
            if path == last:
                assert steps[-1] == status["last_step"], path.name
    if metrics:
        (mpath,) = (p for p in files if p.stem.endswith("-metrics"))
        train = {p: e for p, e in read_rrd(mpath).items() if p.startswith("/train/") and e.n}
        assert train, f"no training scalars in {mpath.name}"
        for p, e in train.items():
            order = e.sorted_by("env_step")
            values = np.array([v[0] for v in e.timeline("Scalars:scalars", order)], dtype=np.float64)
            assert len(values) and np.isfinite(values).all(), p
            steps = e.timeline("env_step", order)
            assert steps[0] > 0 and steps[-1] <= status["last_step"], (p, steps)


@pytest.mark.isaaclab
def test_sigterm_finishes_the_files_and_the_process_dies_of_it(tmp_path):
    pytest.importorskip("isaaclab")
    rc, out, ready = run_child(tmp_path, "gymnasium")
    assert rc == -signal.SIGTERM, (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, ready, metrics=False)


@pytest.mark.isaaclab
def test_sigterm_chains_to_the_training_scripts_own_handler(tmp_path):
    pytest.importorskip("isaaclab")
    rc, out, ready = run_child(tmp_path, "gymnasium", handler="python")
    assert rc == 7 and (tmp_path / "handled").read_text() == "yes", (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, ready, metrics=False)


@pytest.mark.isaaclab
@pytest.mark.parametrize("framework", ["sb3", "skrl", "rsl_rl"])
def test_sigterm_mid_training_under_each_framework(tmp_path, framework):
    pytest.importorskip("isaaclab")
    module = {"sb3": "stable_baselines3", "skrl": "skrl", "rsl_rl": "rsl_rl"}[framework]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    rc, out, ready = run_child(tmp_path, framework)
    assert rc == -signal.SIGTERM, (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, ready, metrics=True)


@pytest.mark.isaaclab
@pytest.mark.parametrize("inside", ["snippet", "metrics"])
def test_sigterm_while_a_failed_run_finishes_its_files(tmp_path, inside):
    """A rank whose peer died: its step raises and the run's end finishes the open snippet and the metrics file, and
    torchrun's ``SIGTERM`` lands in the middle of that (inside the ``inside`` file's flush). The handler lets the
    finishing end, then the process dies of the signal, every file complete."""
    pytest.importorskip("isaaclab")
    if importlib.util.find_spec("rsl_rl") is None:
        pytest.skip("rsl_rl is not installed")
    rc, out, ready = run_child(tmp_path, "rsl_rl", fail_inside=inside)
    log = (tmp_path / "child.log").read_text()
    assert rc == -signal.SIGTERM, log[-3000:]
    assert "a peer rank died" not in log  # the signal ended the process before the exception's traceback
    check_files(out, ready, metrics=True)
