"""Size and cost of a generated terrain in a recording: what each snippet file pays for the static ground.

    .venv/bin/python benchmarks/bench_terrain.py            # ~1 min on 2 CPU cores

Builds Isaac Lab terrains kit-less on the CPU (``TerrainImporter`` with a generator, no physics), then, for each,
times collecting the global prims from the USD stage (done once per recorder and cached) and logging them into a
``.rrd`` (done once per snippet file), and prints the file size. Sizes: the bundled test bed's terrain and Isaac Lab's
``ROUGH_TERRAINS_CFG`` (the locomotion tasks' terrain) at a 4x4 and its full 10x20 grid of sub-terrains.
"""

from __future__ import annotations

import os
import tempfile
import time

import isaaclab.sim as sim_utils
import rerun as rr
from isaaclab.app import launch_simulation
from isaaclab.sim import SimulationCfg, SimulationContext
from isaaclab.terrains import TerrainImporter, TerrainImporterCfg
from isaaclab.terrains.config.rough import ROUGH_TERRAINS_CFG
from isaaclab_newton.physics import NewtonCfg
from pxr import UsdGeom

from isaac_rerun import usd_visuals
from isaac_rerun.testbed.env import TESTBED_TERRAIN_CFG


def main() -> None:
    cases = [
        ("test bed terrain (2x2 of 5 m)", TESTBED_TERRAIN_CFG.terrain_generator),
        ("ROUGH_TERRAINS_CFG 4x4 (8 m)", ROUGH_TERRAINS_CFG.replace(num_rows=4, num_cols=4)),
        ("ROUGH_TERRAINS_CFG 10x20 (8 m, as in the tasks)", ROUGH_TERRAINS_CFG),
    ]
    cfg = SimulationCfg(device="cpu", dt=1 / 120, physics=NewtonCfg())
    print(f"{'terrain':50s} {'vertices':>9s} {'faces':>9s} {'collect s':>10s} {'log s':>7s} {'rrd MB':>7s}")
    with launch_simulation(cfg, {"device": "cpu"}), tempfile.TemporaryDirectory() as tmp:
        SimulationContext(cfg)
        stage = sim_utils.get_current_stage()
        for i, (name, gen) in enumerate(cases):
            root = f"/World/T{i}"
            TerrainImporter(
                TerrainImporterCfg(
                    prim_path=root, terrain_type="generator", terrain_generator=gen.replace(use_cache=False), num_envs=4
                )
            )
            mesh = UsdGeom.Mesh(stage.GetPrimAtPath(f"{root}/terrain/mesh"))
            t0 = time.perf_counter()
            visuals = [
                v
                for v in usd_visuals.collect_global_visuals(stage, envs_root="/World/envs")
                if v.prim_path.startswith(root)
            ]
            t1 = time.perf_counter()
            path = os.path.join(tmp, f"t{i}.rrd")
            rec = rr.RecordingStream("bench_terrain")
            rec.save(path)
            usd_visuals.log_visuals(rec, "", visuals)
            rec.flush()
            rec.disconnect()
            t2 = time.perf_counter()
            print(
                f"{name:50s} {len(mesh.GetPointsAttr().Get()):9d} {len(mesh.GetFaceVertexCountsAttr().Get()):9d} "
                f"{t1 - t0:10.2f} {t2 - t1:7.2f} {os.path.getsize(path) / 1e6:7.2f}"
            )


if __name__ == "__main__":
    main()
