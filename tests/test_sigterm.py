"""``SIGTERM`` mid-snippet, under each integration (``sigterm_child.py``): the recorder finishes the open snippet and
the metrics file, as on Ctrl-C, then the signal does what it did before — the process dies of ``SIGTERM`` (the
default), or the training script's own handler runs. Every file then passes ``rerun rrd verify``."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rrd_readback import read_rrd

CHILD = Path(__file__).with_name("sigterm_child.py")
RERUN = Path(sys.executable).with_name("rerun")
pytestmark = pytest.mark.skipif(not RERUN.exists(), reason="needs the rerun CLI next to the Python executable")


def run_child(tmp_path: Path, framework: str, handler: str = "default", timeout: float = 600) -> tuple[int, Path]:
    out, ready = tmp_path / "rerun", tmp_path / "ready"
    log = (tmp_path / "child.log").open("w")
    cmd = [sys.executable, str(CHILD), framework, str(out), str(ready), "--handler", handler]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), f"the child never got ready:\n{(tmp_path / 'child.log').read_text()[-5000:]}"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    return rc, out


def check_files(out: Path, metrics: bool) -> None:
    files = sorted(out.glob("*.rrd"))
    snippets = [p for p in files if not p.stem.endswith("-metrics")]
    assert snippets, "a snippet was open"
    assert any(p.stem.endswith("-metrics") for p in files) == metrics
    res = subprocess.run([str(RERUN), "rrd", "verify", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    last = read_rrd(snippets[-1])  # the snippet open at the signal: its buffered frames were sent too
    assert any(e.n >= 3 for p, e in last.items() if p.startswith("/World/envs/"))


def test_sigterm_finishes_the_files_and_the_process_dies_of_it(tmp_path):
    rc, out = run_child(tmp_path, "gymnasium")
    assert rc == -signal.SIGTERM, (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, metrics=False)


def test_sigterm_chains_to_the_training_scripts_own_handler(tmp_path):
    rc, out = run_child(tmp_path, "gymnasium", handler="python")
    assert rc == 7 and (tmp_path / "handled").read_text() == "yes", (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, metrics=False)


@pytest.mark.isaaclab
@pytest.mark.parametrize("framework", ["sb3", "skrl", "rsl_rl"])
def test_sigterm_mid_training_under_each_framework(tmp_path, framework):
    pytest.importorskip("isaaclab")
    module = {"sb3": "stable_baselines3", "skrl": "skrl", "rsl_rl": "rsl_rl"}[framework]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    rc, out = run_child(tmp_path, framework)
    assert rc == -signal.SIGTERM, (tmp_path / "child.log").read_text()[-3000:]
    check_files(out, metrics=True)
