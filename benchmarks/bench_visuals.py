"""Size and cost of the static visuals each snippet file carries: the Unitree A1 (meshes and a textured trunk).

    .venv/bin/python benchmarks/bench_visuals.py [--envs 2] [--repeats 5]     # ~10 s on 2 CPU cores

Reads the A1 that ``bash scripts/setup.sh`` builds (no Isaac Lab needed: plain ``pxr``), collects each rigid body's
visuals once (as the scene does, cached per recorder), then times logging them into a fresh ``.rrd`` (what every
snippet file pays once) in both layouts: ``per_env`` (the visuals below each logged env's body entities, as
``PerEnvBodies`` logs them) and ``instanced`` (baked once per body, as ``InstancedBodies`` logs them), and prints the
file size. The test bed's A1 test asserts the size of a whole 2-env, 100-frame snippet (``tests/test_a1.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import rerun as rr
from pxr import Usd, UsdPhysics

from isaac_rerun import usd_visuals
from isaac_rerun.channels.bodies import _body_matrices
from isaac_rerun.testbed import a1


def _a1_visuals() -> list[tuple[str, list[usd_visuals.PrimVisual]]]:
    path = a1.local_a1_usd_path()
    if path is None:
        raise SystemExit("the A1 asset is not built: run `bash scripts/setup.sh`")
    stage = Usd.Stage.Open(str(path))
    root = stage.GetDefaultPrim()
    bodies = [p for p in Usd.PrimRange(root) if p.HasAPI(UsdPhysics.RigidBodyAPI)]
    paths = {str(b.GetPath()) for b in bodies}

    def stop_at(prim: Usd.Prim) -> bool:
        return prim.HasAPI(UsdPhysics.RigidBodyAPI) or str(prim.GetPath()) in paths

    out = []
    for body in bodies:
        rel = str(body.GetPath().MakeRelativePath(root.GetPath()))
        out.append((rel, usd_visuals.collect_visuals(body, stop_at=stop_at)))
    return out


def _timed(folder: str, name: str, log: Callable[[rr.RecordingStream], None], repeats: int) -> tuple[float, int]:
    times, size = [], 0
    for k in range(repeats):
        path = os.path.join(folder, f"{name}-{k}.rrd")
        rec = rr.RecordingStream("bench_visuals")
        rec.save(path)
        t0 = time.perf_counter()
        log(rec)
        rec.flush()
        times.append(time.perf_counter() - t0)
        rec.disconnect()
        size = os.path.getsize(path)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=2, help="logged envs (default 2, as in the A1 demo)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    bodies = _a1_visuals()
    collect_s = time.perf_counter() - t0
    n_visuals = sum(len(v) for _, v in bodies)

    def per_env(rec: rr.RecordingStream) -> None:
        for e in range(args.envs):
            for rel, visuals in bodies:
                usd_visuals.log_visuals(rec, f"/World/envs/env_{e}/Robot/{rel}", visuals)

    t0 = time.perf_counter()
    baked = []  # baked once per recorder (InstancedBodies.__init__), logged once per snippet
    for rel, visuals in bodies:
        parts = list(zip(visuals, _body_matrices(visuals), strict=True))
        root = f"/World/envs/instances/Robot/{rel}"
        baked += [(f"{root}/{name}" if name else root, mesh) for name, mesh in usd_visuals.baked_meshes(parts)]
    bake_s = time.perf_counter() - t0

    def instanced(rec: rr.RecordingStream) -> None:
        for entity, mesh in baked:
            rec.log(entity, mesh, static=True)

    print(
        f"A1: {len(bodies)} bodies, {n_visuals} visuals; once per recorder: collected in {collect_s * 1e3:.0f} ms, "
        f"baked (instanced) in {bake_s * 1e3:.0f} ms"
    )
    print(f"{'layout':10s} {'envs':>5s} {'log+flush ms':>13s} {'rrd KB':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, log in (("per_env", per_env), ("instanced", instanced)):
            seconds, size = _timed(tmp, name, log, args.repeats)
            print(f"{name:10s} {args.envs:5d} {seconds * 1e3:13.1f} {size / 1e3:9.1f}")


if __name__ == "__main__":
    main()
