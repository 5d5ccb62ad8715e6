"""A recording made on the Isaac Lab 2.3 stack (rerun-sdk 0.23.1, numpy < 2) opens in the newest Rerun.

Two recordings, both written by ``isaac_rerun`` on rerun-sdk 0.23.1 through ``tests/data/make_isaaclab2_fixture.py``:

* ``fixture``: ``tests/data/isaaclab2_rerun023.rrd`` (+ ``.json``, the stand-in simulator's poses), committed;
* ``fresh``: the same script run now with ``.venv-il2/bin/python`` (``scripts/test-isaaclab2-stack.sh`` builds it;
  skipped where that venv is absent), so the check follows the current code.

Each is checked with the newest Rerun installed here (the main suite's ``.venv``: rerun-sdk 0.41): ``rerun rrd verify``
(with ``--check-footers false``: 0.23 never wrote the footer that newer files end with; ``rerun rrd migrate`` adds it,
after which the default, footer-checking ``verify`` passes too), and ``rerun.chunk.RrdReader`` reads back the poses
the simulator had. Needs a Rerun with ``rerun.chunk`` (skipped on the 0.23 stack itself).
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rerun.chunk", reason="needs the newest Rerun's reader (rerun.chunk); the 0.23 stack has none")

from rrd_readback import quat_close, read_rrd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
NAME = "isaaclab2_rerun023"
IL2_PYTHON = ROOT / ".venv-il2" / "bin" / "python"


def rerun_cli() -> str:
    exe = Path(sys.executable).parent / "rerun"
    return str(exe) if exe.exists() else "rerun"


def run_rerun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([rerun_cli(), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["fixture", "fresh"])
def recording(request, tmp_path) -> tuple[Path, dict]:
    """(path of a copy of the 0.23 recording, what the simulator showed)."""
    if request.param == "fixture":
        src = DATA
    else:
        if not IL2_PYTHON.exists():  # the 2.x stack runs in its own job, not in the main suite's
            pytest.skip("the Isaac Lab 2.x stack's .venv-il2 is absent (scripts/test-isaaclab2-stack.sh builds it)")
        src = tmp_path / "fresh"
        out = subprocess.run(
            [str(IL2_PYTHON), str(DATA / "make_isaaclab2_fixture.py"), str(src)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr
    path = tmp_path / f"{NAME}.rrd"
    shutil.copy(src / f"{NAME}.rrd", path)
    expected = json.loads((src / f"{NAME}.json").read_text())
    expected["fresh"] = request.param == "fresh"
    return path, expected


def test_written_by_rerun_0_23(recording):
    """The file itself says which Rerun wrote it: an RRD file starts with ``RRF2`` and the writer's version
    (major, minor and patch bytes); a fresh recording's JSON, written by the 2.x stack's interpreter
    now, also says numpy < 2 and the stand-in's Isaac Lab version."""
    path, expected = recording
    head = path.read_bytes()[:8]
    assert head[:4] == b"RRF2", head
    written_by = f"{head[4]}.{head[5]}.{head[6]}"
    assert written_by.startswith("0.23."), written_by
    assert expected["rerun_sdk"] == written_by
    if expected["fresh"]:
        assert expected["numpy"].startswith("1.") and expected["isaaclab_standin"] == "2.3.2.post1"


def test_newest_rerun_verifies_it(recording):
    path, _ = recording
    out = run_rerun("rrd", "verify", "--check-footers", "false", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    footerless = run_rerun("rrd", "verify", str(path))
    assert footerless.returncode != 0 and "footer" in (footerless.stdout + footerless.stderr).lower()
    migrated = run_rerun("rrd", "migrate", str(path))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    out = run_rerun("rrd", "verify", str(path))  # now in the newest format, footer included
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.filterwarnings("ignore:RRD file has no footer")  # expected of a 0.23 file: a whole-file scan
def test_newest_reader_reads_the_poses(recording):
    path, expected = recording
    ents = read_rrd(path)  # rerun.chunk.RrdReader
    assert expected["poses"], "the fixture must hold poses for this test to mean anything"
    for entity, want in expected["poses"].items():
        ent = ents[entity]
        order = ent.sorted_by("frame")
        assert list(ent.timeline("frame", order)) == list(range(len(want)))
        assert list(ent.timeline("env_step", order)) == expected["env_step"]
        pos = ent.vectors("Transform3D:translation", order)
        quat = ent.vectors("Transform3D:quaternion", order)
        want = np.asarray(want)
        np.testing.assert_allclose(pos, want[:, :3], atol=1e-6, err_msg=entity)
        assert quat_close(quat, want[:, 3:]), entity
        env_step = expected["env_step"]  # a reset frame repeats its step's id and time
        steps = np.cumsum([1] + [int(a != b) for a, b in itertools.pairwise(env_step)])
        np.testing.assert_allclose(ent.timeline("sim_time", order), steps * expected["step_dt"], atol=1e-9)
    # static visuals, in the newest Rerun's archetype names
    assert "Capsules3D:lengths" in ents["/World/envs/env_2/Robot/base/arm/visual"].static
    assert "Boxes3D:half_sizes" in ents["/World/envs/env_0/BoxB/geometry/mesh"].static
    reward = ents["/scalars/env_0/reward"]
    assert len(reward.sorted_by("frame")) == len(set(expected["env_step"]))
