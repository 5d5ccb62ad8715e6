"""Build the Unitree A1 USD used by ``isaac_rerun.testbed.a1`` (Isaac Lab's own A1 velocity task, kit-less).

Run by ``scripts/setup.sh`` in ``.venv-assets`` (``requirements/assets.txt``: ``urdf-usd-converter`` and ``pxr``
through ``usd-exchange``); idempotent: it does nothing (and prints nothing) when the asset is built and this script
has not changed since. Steps:

1. download pybullet's *source* archive once (``pip download --no-deps --no-binary :all: pybullet==3.2.7``, 80 MB,
   nothing is compiled or installed) into ``$XDG_CACHE_HOME/isaac-rerun/downloads`` (default ``~/.cache``) and
   check its SHA-256;
2. extract only ``examples/pybullet/gym/pybullet_data/a1/`` (URDF, OBJ meshes, trunk texture) and the archive's
   ``LICENSE.txt`` (zlib; pybullet_data's A1 has no licence file of its own, the repository's licence covers it);
3. repair the OBJ meshes: drop vertices (and normals / texture coordinates) no face references and re-index the
   faces (``hip.obj`` has 3 such vertices, which the converter rejects: "some points are not referenced by the
   faces");
4. edit the URDF so its names are Isaac Lab's A1 names (``UNITREE_A1_CFG`` and the velocity task): links
   ``*_upper``/``*_lower``/``*_toe`` -> ``*_thigh``/``*_calf``/``*_foot``, joints ``*_upper_joint``/``*_lower_joint``
   -> ``*_thigh_joint``/``*_calf_joint``; the massless helper links Isaac Lab's A1 does not have are folded into
   their parents (``*_upper_shoulder``: its collision cylinder moves to ``*_hip``; ``imu_link``: a 1 mm, 1 g box,
   dropped); ROS transmissions are dropped; mesh paths are made local (no ``package://``); the robot is ``a1``;
5. convert with ``urdf_usd_converter`` 0.3.4;
6. post-process with ``pxr``: delete the fixed ``root_joint`` (a namespace edit on the physics layer) so the base
   floats; flatten the layer stack into one layer (materials de-instanced first, so they are plain prims) and make
   the texture path relative; write that as ``a1_nested.usd`` (the converter's hierarchy: each link nested under its
   parent, ``/a1/Geometry/trunk/FL_hip/FL_thigh/...``, for recording tests of nested bodies); then move
   every link to be a direct child of the robot prim, as in Isaac Lab's own ``a1.usd`` (the task's contact sensor
   matches ``{ENV_REGEX_NS}/Robot/[^/]*``), with its world transform, and retarget the relationships (joint
   bodies) that named the nested paths; order the links as Isaac Lab (PhysX) lists them; make the texture path
   relative; check the result (every link, visual and collider keeps its world transform, every joint body exists);
7. write ``a1.usd`` (flat links; what the task uses), ``a1_nested.usd``, the texture, the licence and a
   ``SOURCE.txt`` saying what was changed to
   ``$XDG_CACHE_HOME/isaac-rerun/assets/a1-pybullet-3.2.7/`` (replaced atomically), with a stamp that names this
   script's hash, and print one line.

Nothing of this goes into the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

PYBULLET_VERSION = "3.2.7"
PYBULLET_SDIST = f"pybullet-{PYBULLET_VERSION}.tar.gz"
PYBULLET_SDIST_SHA256 = "042879db8d101ac7590dee475fc6aded508b85fe1273fdbbfde1d88bd200e14f"
A1_DATA_DIR = f"pybullet-{PYBULLET_VERSION}/examples/pybullet/gym/pybullet_data/a1/"
LICENSE_MEMBER = f"pybullet-{PYBULLET_VERSION}/LICENSE.txt"
ASSET_DIR_NAME = f"a1-pybullet-{PYBULLET_VERSION}"
"""Folder of the built asset under ``<cache>/assets`` (``isaac_rerun.testbed.a1`` looks for the same name)."""
ROBOT_NAME = "a1"
USD_NAME = "a1.usd"
NESTED_USD_NAME = "a1_nested.usd"
"""The converted A1 with the root joint deleted but its links still nested under their parents (as converted)."""
STAMP_NAME = ".stamp"

LEGS = ("FL", "FR", "RL", "RR")
PARTS = ("hip", "thigh", "calf", "foot")
BODY_NAMES = ("trunk", *(f"{leg}_{part}" for part in PARTS for leg in LEGS))
"""Isaac Lab's A1 bodies, in the order Isaac Lab lists them under PhysX (trunk, the 4 hips, thighs, calves, feet)."""
JOINT_NAMES = tuple(f"{leg}_{part}_joint" for part in PARTS[:3] for leg in LEGS)
LINK_RENAMES = {"upper": "thigh", "lower": "calf", "toe": "foot"}
JOINT_RENAMES = {"upper_joint": "thigh_joint", "lower_joint": "calf_joint", "toe_fixed": "foot_fixed"}


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/isaac-rerun`` (``~/.cache/isaac-rerun`` by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "isaac-rerun"


def script_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def stamp_text() -> str:
    converter = importlib.metadata.version("urdf-usd-converter")
    return f"script={script_hash()} pybullet={PYBULLET_VERSION} urdf-usd-converter={converter}\n"


# --------------------------------------------------------------------------------------------------------------
# 1-2. download and extract


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_sdist(downloads: Path) -> Path:
    """pybullet's source archive in ``downloads`` (fetched once with pip; its SHA-256 is checked)."""
    archive = downloads / PYBULLET_SDIST
    if not archive.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        cmd += [f"pybullet=={PYBULLET_VERSION}", "-d", str(downloads)]
        subprocess.run(cmd, check=True)
    digest = sha256_of(archive)
    if digest != PYBULLET_SDIST_SHA256:
        raise RuntimeError(f"{archive}: SHA-256 {digest}, expected {PYBULLET_SDIST_SHA256}; delete it and rerun")
    return archive


def extract_a1(archive: Path, dest: Path) -> tuple[Path, Path]:
    """Extract the A1 data folder (without its demo script ``a1.py``) and the licence; return their paths."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [
            m
            for m in tar
            if (m.name.startswith(A1_DATA_DIR) and not m.name.endswith(".py")) or m.name == LICENSE_MEMBER
        ]
        tar.extractall(dest, members=members, filter="data")
    return dest / A1_DATA_DIR, dest / LICENSE_MEMBER


# --------------------------------------------------------------------------------------------------------------
# 3. mesh repair


def compact_obj(text: str) -> tuple[str, int]:
    """Drop the ``v``/``vt``/``vn`` entries no element references and re-index ``f``/``l``/``p`` to match.

    Returns the new OBJ text and the number of positions dropped. Other lines (``mtllib``, ``usemtl``, ``o``, ``s``,
    comments) are kept in place.
    """
    lines = text.splitlines()
    kinds = ("v", "vt", "vn")
    counts = dict.fromkeys(kinds, 0)
    used: dict[str, set[int]] = {k: set() for k in kinds}
    parsed: list[tuple[str, list[list[int | None]]] | None] = []
    for line in lines:
        head, _, rest = line.strip().partition(" ")
        if head in kinds:
            counts[head] += 1
            parsed.append(None)
        elif head in ("f", "l", "p"):
            corners: list[list[int | None]] = []
            for token in rest.split():
                refs: list[int | None] = []
                for slot, field in enumerate(token.split("/")):
                    if not field:
                        refs.append(None)
                        continue
                    i = int(field)
                    i = i - 1 if i > 0 else counts[kinds[slot]] + i  # 0-based; negative = relative to the end
                    used[kinds[slot]].add(i)
                    refs.append(i)
                corners.append(refs)
            parsed.append((head, corners))
        else:
            parsed.append(None)
    remap = {k: {old: new for new, old in enumerate(sorted(used[k]))} for k in kinds}
    seen = dict.fromkeys(kinds, 0)
    out: list[str] = []
    for line, element in zip(lines, parsed, strict=True):
        head = line.strip().partition(" ")[0]
        if head in kinds:
            index = seen[head]
            seen[head] += 1
            if index in remap[head]:
                out.append(line)
        elif element is not None:
            name, corners = element
            tokens = [
                "/".join("" if ref is None else str(remap[kinds[slot]][ref] + 1) for slot, ref in enumerate(refs))
                for refs in corners
            ]
            out.append(f"{name} {' '.join(tokens)}")
        else:
            out.append(line)
    return "\n".join(out) + "\n", counts["v"] - len(used["v"])


def repair_meshes(mesh_dir: Path) -> dict[str, int]:
    """Compact every OBJ in ``mesh_dir`` in place; return the positions dropped per file (only files changed)."""
    dropped = {}
    for obj in sorted(mesh_dir.glob("*.obj")):
        text, n = compact_obj(obj.read_text(encoding="utf-8"))
        if n:
            obj.write_text(text, encoding="utf-8")
            dropped[obj.name] = n
    return dropped


# --------------------------------------------------------------------------------------------------------------
# 4. URDF edits


def _xyz(element: ET.Element | None) -> list[float]:
    return [float(v) for v in (element.get("xyz", "0 0 0") if element is not None else "0 0 0").split()]


def _rpy(element: ET.Element | None) -> list[float]:
    return [float(v) for v in (element.get("rpy", "0 0 0") if element is not None else "0 0 0").split()]


def edit_urdf(src: Path, dst: Path) -> None:
    """Rename pybullet's A1 links and joints to Isaac Lab's, fold helper links into their parents, localize meshes."""
    tree = ET.parse(src)
    robot = tree.getroot()
    robot.set("name", ROBOT_NAME)
    links = {link.get("name"): link for link in robot.findall("link")}
    joints = {joint.get("name"): joint for joint in robot.findall("joint")}

    # the IMU link: a 1 mm, 1 g box on a fixed joint; Isaac Lab's A1 has no such body
    robot.remove(joints.pop("imu_joint"))
    robot.remove(links.pop("imu_link"))
    for leg in LEGS:
        # the thigh "shoulder": a 1 g body on a fixed joint that only carries a collision cylinder; Isaac Lab's A1
        # has no such body, so the cylinder moves into the hip (the fixed joint has no rotation: offsets add up)
        joint, shoulder, hip = joints.pop(f"{leg}_hip_fixed"), links.pop(f"{leg}_upper_shoulder"), links[f"{leg}_hip"]
        if any(_rpy(joint.find("origin"))):
            raise RuntimeError(f"{leg}_hip_fixed: a rotated fixed joint is not expected")
        offset = _xyz(joint.find("origin"))
        for collision in shoulder.findall("collision"):
            origin = collision.find("origin")
            if origin is None:
                origin = ET.SubElement(collision, "origin")
            origin.set("xyz", " ".join(f"{a + b:.9g}" for a, b in zip(offset, _xyz(origin), strict=True)))
            origin.set("rpy", " ".join(f"{v:.12g}" for v in _rpy(origin)))
            hip.append(collision)
        robot.remove(joint)
        robot.remove(shoulder)
    # ROS transmissions name the old joints and mean nothing to the converter
    for transmission in robot.findall("transmission"):
        robot.remove(transmission)

    def rename(name: str, table: dict[str, str]) -> str:
        leg, _, part = name.partition("_")
        return f"{leg}_{table[part]}" if leg in LEGS and part in table else name

    for link in robot.findall("link"):
        link.set("name", rename(link.get("name", ""), LINK_RENAMES))
    for joint in robot.findall("joint"):
        joint.set("name", rename(joint.get("name", ""), JOINT_RENAMES))
        for tag in ("parent", "child"):
            ref = joint.find(tag)
            if ref is not None:
                ref.set("link", rename(ref.get("link", ""), LINK_RENAMES))
    # mesh paths relative to the URDF (package://<pkg>/x -> x)
    for mesh in robot.iter("mesh"):
        filename = re.sub(r"^package://[^/]+/", "", mesh.get("filename", ""))
        if not (src.parent / filename).is_file():
            raise FileNotFoundError(f"mesh {filename} not found beside {src}")
        mesh.set("filename", filename)

    names = {link.get("name", "") for link in robot.findall("link")}
    if names != set(BODY_NAMES):
        raise RuntimeError(f"URDF links {sorted(names)} are not Isaac Lab's A1 bodies {sorted(BODY_NAMES)}")
    revolute = {j.get("name", "") for j in robot.findall("joint") if j.get("type") == "revolute"}
    if revolute != set(JOINT_NAMES):
        raise RuntimeError(f"URDF joints {sorted(revolute)} are not Isaac Lab's A1 joints {sorted(JOINT_NAMES)}")
    ET.indent(tree)
    tree.write(dst, encoding="unicode", xml_declaration=True)


# --------------------------------------------------------------------------------------------------------------
# 5. conversion


def convert(urdf: Path, out_dir: Path) -> Path:
    """Run ``urdf_usd_converter``; fail on any error or mesh it could not convert. Returns the main USD layer."""
    exe = Path(sys.executable).with_name("urdf_usd_converter")
    result = subprocess.run([str(exe), str(urdf), str(out_dir)], capture_output=True, text=True)
    log = result.stdout + result.stderr
    problems = [line for line in log.splitlines() if "Error" in line or "Failed" in line]
    if result.returncode != 0 or problems:
        raise RuntimeError(f"urdf_usd_converter failed (exit {result.returncode}):\n{log}")
    return out_dir / f"{ROBOT_NAME}.usda"


# --------------------------------------------------------------------------------------------------------------
# 6. post-processing


def _world_matrices(stage) -> dict[str, object]:
    """Local-to-world matrix of every Xformable under the robot, keyed by prim *name path* below its link.

    The key of a link is its name; the key of a prim inside a link is ``link/child/...``, so the same key
    addresses the same prim before and after the links are moved.
    """
    from pxr import Usd, UsdGeom, UsdPhysics

    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    out = {}
    for prim in stage.Traverse():
        if not prim.IsA(UsdGeom.Xformable):
            continue
        link = prim
        while link and not link.HasAPI(UsdPhysics.RigidBodyAPI):
            link = link.GetParent()
        if not link:
            continue
        rel = prim.GetPath().MakeRelativePath(link.GetPath()).pathString
        key = link.GetName() if rel == "." else f"{link.GetName()}/{rel}"
        out[key] = cache.GetLocalToWorldTransform(prim)
    return out


def check_nested(stage: Any, root_path: Any, links: dict[str, Any]) -> None:
    """The nested variant: every link a rigid body below the robot prim, some nested below another link (as the
    converter writes them), no root joint, one articulation root, every joint body a link."""
    from pxr import UsdPhysics

    if all(path.GetParentPath() == root_path for path in links.values()):
        raise RuntimeError("expected the converter's nested links (e.g. FL_thigh below FL_hip)")
    for name, path in links.items():
        if not path.HasPrefix(root_path):
            raise RuntimeError(f"{name} ({path}) is not below {root_path}")
    if any(p.GetName() == "root_joint" for p in stage.Traverse()):
        raise RuntimeError("root_joint is still there")
    roots = [p for p in stage.Traverse() if p.HasAPI(UsdPhysics.ArticulationRootAPI)]
    if len(roots) != 1:
        raise RuntimeError(f"expected one articulation root, got {[str(p.GetPath()) for p in roots]}")
    paths = set(links.values())
    for prim in stage.Traverse():
        if prim.IsA(UsdPhysics.Joint):
            for rel in (UsdPhysics.Joint(prim).GetBody0Rel(), UsdPhysics.Joint(prim).GetBody1Rel()):
                for target in rel.GetTargets():
                    if target not in paths:
                        raise RuntimeError(f"{prim.GetPath()}: body {target} is not a link of the robot")


def postprocess(main_layer: Path, out_usd: Path, nested_usd: Path, texture_dir: str) -> dict[str, int]:
    """Floating base, relative texture paths: writes ``nested_usd`` (links nested as converted), then flat links:
    writes ``out_usd``. Returns counts for the summary."""
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

    root_path = Sdf.Path(f"/{ROBOT_NAME}")

    # the fixed joint to the world, on the physics layer, where the converter authored it
    physics_layer = Sdf.Layer.FindOrOpen(str(main_layer.parent / "Payload" / "Physics.usda"))
    root_joint = root_path.AppendPath("Physics/root_joint")
    if not physics_layer.GetPrimAtPath(root_joint):
        raise RuntimeError(f"{physics_layer.identifier}: no {root_joint}")
    edit = Sdf.BatchNamespaceEdit()
    edit.Add(root_joint, Sdf.Path.emptyPath)
    if not physics_layer.Apply(edit):
        raise RuntimeError(f"cannot remove {root_joint}")
    physics_layer.Save()

    stage = Usd.Stage.Open(str(main_layer))
    # materials come from an instanceable library: make them plain prims so flattening copies them in place
    # (instead of into "Flattened_Prototype_N" root prims outside the robot)
    for prim in stage.Traverse():
        if prim.IsInstance():
            prim.SetInstanceable(False)
    before = _world_matrices(stage)
    layer = stage.Flatten(addSourceFileComment=False)
    flat = Usd.Stage.Open(layer)

    # the scene the converter adds beside the robot: Isaac Lab makes its own
    for extra in [p.path for p in layer.rootPrims if p.path != root_path]:
        edit = Sdf.BatchNamespaceEdit()
        edit.Add(extra, Sdf.Path.emptyPath)
        layer.Apply(edit)

    # asset paths: the flattened layer has them resolved to the converter's output folder; make them relative
    textures = 0
    for prim in flat.Traverse():
        for attr in prim.GetAttributes():
            if attr.GetTypeName() != Sdf.ValueTypeNames.Asset or not attr.HasAuthoredValue():
                continue
            value = attr.Get()
            if value is None or not value.path:
                continue
            attr.Set(Sdf.AssetPath(f"./{texture_dir}/{Path(value.path).name}"))
            textures += 1
    layer.defaultPrim = ROBOT_NAME

    links = {p.GetName(): p.GetPath() for p in flat.Traverse() if p.HasAPI(UsdPhysics.RigidBodyAPI)}
    if set(links) != set(BODY_NAMES):
        raise RuntimeError(f"converted bodies {sorted(links)} are not {sorted(BODY_NAMES)}")
    check_nested(flat, root_path, links)
    layer.Export(str(nested_usd))

    # every rigid body becomes a direct child of the robot prim, keeping its world transform
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    root_inv = cache.GetLocalToWorldTransform(flat.GetPrimAtPath(root_path)).GetInverse()
    local = {name: cache.GetLocalToWorldTransform(flat.GetPrimAtPath(path)) * root_inv for name, path in links.items()}
    moved: dict[Sdf.Path, Sdf.Path] = {}  # original path -> new path
    current = dict(links)
    for name in BODY_NAMES:  # Isaac Lab's order; parents (shallower) come first, so moving one drags its children
        old, new = current[name], root_path.AppendChild(name)
        moved[links[name]] = new
        if old == new:
            continue
        edit = Sdf.BatchNamespaceEdit()
        edit.Add(old, new)
        if not layer.Apply(edit):
            raise RuntimeError(f"cannot move {old} to {new}")
        current = {n: (p.ReplacePrefix(old, new) if p.HasPrefix(old) else p) for n, p in current.items()}
    for name in BODY_NAMES:
        xformable = UsdGeom.Xformable(flat.GetPrimAtPath(root_path.AppendChild(name)))
        for op in xformable.GetOrderedXformOps():
            xformable.GetPrim().RemoveProperty(op.GetName())
        xformable.ClearXformOpOrder()
        transform = Gf.Transform(local[name])
        xformable.AddTranslateOp(UsdGeom.XformOp.PrecisionDouble).Set(transform.GetTranslation())
        xformable.AddOrientOp(UsdGeom.XformOp.PrecisionFloat).Set(Gf.Quatf(transform.GetRotation().GetQuat()))
        xformable.AddScaleOp(UsdGeom.XformOp.PrecisionFloat).Set(Gf.Vec3f(transform.GetScale()))

    # Sdf namespace edits do not retarget relationships (joint bodies, ...): do it here, deepest paths first
    remap = sorted(moved.items(), key=lambda kv: -kv[0].pathElementCount)

    def retarget(path: Sdf.Path) -> Sdf.Path:
        for old, new in remap:
            if path.HasPrefix(old):
                return path.ReplacePrefix(old, new)
        return path

    retargeted = 0

    def visit(path: Sdf.Path) -> None:
        nonlocal retargeted
        if not path.IsPropertyPath():
            return
        spec = layer.GetObjectAtPath(path)
        lists = []
        if isinstance(spec, Sdf.RelationshipSpec):
            lists.append(spec.targetPathList)
        elif isinstance(spec, Sdf.AttributeSpec):
            lists.append(spec.connectionPathList)
        for plist in lists:
            for item in list(plist.GetAddedOrExplicitItems()) + list(plist.deletedItems):
                if retarget(item) != item:
                    plist.ReplaceItemEdits(item, retarget(item))
                    retargeted += 1

    layer.Traverse(Sdf.Path.absoluteRootPath, visit)

    # the converter's "Geometry" scope is now empty: drop it
    geometry = root_path.AppendChild("Geometry")
    if flat.GetPrimAtPath(geometry):
        if flat.GetPrimAtPath(geometry).GetChildren():
            raise RuntimeError(f"{geometry} still has children after flattening the links")
        edit = Sdf.BatchNamespaceEdit()
        edit.Add(geometry, Sdf.Path.emptyPath)
        layer.Apply(edit)
    # the links first, in Isaac Lab's order, then the joints ("Physics") and the materials
    root_spec = layer.GetPrimAtPath(root_path)
    others = [n for n in root_spec.nameChildren.keys() if n not in BODY_NAMES]  # noqa: SIM118 (Sdf proxy)
    root_spec.nameChildrenOrder = [*BODY_NAMES, *others]
    # the joints in Isaac Lab's order as well
    physics_spec = layer.GetPrimAtPath(root_path.AppendChild("Physics"))
    joint_names = list(physics_spec.nameChildren.keys())
    physics_spec.nameChildrenOrder = [*JOINT_NAMES, *(n for n in joint_names if n not in JOINT_NAMES)]

    # checks: world transforms of every link, visual and collider unchanged; joints name existing bodies
    after = _world_matrices(flat)
    if set(after) != set(before):
        raise RuntimeError(f"prims differ after flattening: {sorted(set(before) ^ set(after))}")
    for key, matrix in before.items():
        if not Gf.IsClose(matrix, after[key], 1e-5):
            raise RuntimeError(f"{key}: world transform changed when flattening the links")
    root = flat.GetPrimAtPath(root_path)
    joints = 0
    for prim in flat.Traverse():
        if prim.IsA(UsdPhysics.Joint):
            joints += 1
            for rel in (UsdPhysics.Joint(prim).GetBody0Rel(), UsdPhysics.Joint(prim).GetBody1Rel()):
                for target in rel.GetTargets():
                    if target.GetParentPath() != root_path or not flat.GetPrimAtPath(target):
                        raise RuntimeError(f"{prim.GetPath()}: body {target} is not a link of the robot")
    for name in BODY_NAMES:
        if not root.GetChild(name).HasAPI(UsdPhysics.RigidBodyAPI):
            raise RuntimeError(f"{name} is not a rigid body directly under {root_path}")
    if root.HasAPI(UsdPhysics.ArticulationRootAPI) is root.GetChild("trunk").HasAPI(UsdPhysics.ArticulationRootAPI):
        raise RuntimeError("expected one articulation root (on the robot prim or on the trunk)")
    if any(p.GetName() == "root_joint" for p in flat.Traverse()):
        raise RuntimeError("root_joint is still there")
    bound = [
        p for p in flat.Traverse() if p.IsA(UsdGeom.Mesh) and UsdShade.MaterialBindingAPI(p).ComputeBoundMaterial()[0]
    ]
    layer.Export(str(out_usd))
    return {"joints": joints, "meshes": len(bound), "retargeted": retargeted, "textures": textures}


# --------------------------------------------------------------------------------------------------------------


SOURCE_TEXT = """\
Unitree A1 for isaac-rerun, built by scripts/build_a1_asset.py from pybullet {version}'s source distribution
(PyPI: pybullet-{version}.tar.gz, sha256 {sha}), folder examples/pybullet/gym/pybullet_data/a1/.
The files of that repository are under the zlib licence (LICENSE-pybullet.txt, copied from the archive's
LICENSE.txt); the A1 folder has no licence file of its own.

Altered from the original (zlib licence, clause 2):
- OBJ meshes: vertices no face references were removed and the faces re-indexed ({dropped});
- URDF: links *_upper/*_lower/*_toe renamed *_thigh/*_calf/*_foot, joints *_upper_joint/*_lower_joint renamed
  *_thigh_joint/*_calf_joint (Isaac Lab's A1 names); *_upper_shoulder links folded into *_hip (their collision
  cylinders), imu_link removed, transmissions removed, robot renamed "a1";
- converted to USD with urdf-usd-converter {converter}; the fixed root joint removed (floating base), the layers
  flattened into one (a1_nested.usd: the links nested as converted), and in a1.usd every link made a direct
  child of the robot prim (world transforms kept).
"""


def build(out_dir: Path, downloads: Path, work: Path) -> dict[str, object]:
    timings: dict[str, object] = {}
    t0 = time.perf_counter()
    archive = download_sdist(downloads)
    timings["download_s"] = time.perf_counter() - t0
    data, license_file = extract_a1(archive, work / "src")
    dropped = repair_meshes(data / "meshes")
    if "hip.obj" not in dropped:
        raise RuntimeError("hip.obj was expected to need a repair: the pybullet data changed?")
    edit_urdf(data / "a1.urdf", data / "a1_isaaclab.urdf")
    main_layer = convert(data / "a1_isaaclab.urdf", work / "usd")
    out_dir.mkdir(parents=True)
    texture_dir = "textures"
    shutil.copytree(main_layer.parent / "Payload" / "Textures", out_dir / texture_dir)
    counts = postprocess(main_layer, out_dir / USD_NAME, out_dir / NESTED_USD_NAME, texture_dir)
    shutil.copyfile(license_file, out_dir / "LICENSE-pybullet.txt")
    (out_dir / "SOURCE.txt").write_text(
        SOURCE_TEXT.format(
            version=PYBULLET_VERSION,
            sha=PYBULLET_SDIST_SHA256,
            dropped=", ".join(f"{k}: {v}" for k, v in dropped.items()),
            converter=importlib.metadata.version("urdf-usd-converter"),
        )
    )
    (out_dir / STAMP_NAME).write_text(stamp_text())
    timings["build_s"] = time.perf_counter() - t0 - float(timings["download_s"])  # type: ignore[arg-type]
    return {**timings, **counts, "dropped": dropped}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the asset is up to date")
    parser.add_argument("--cache", type=Path, default=None, help="cache folder (default: $XDG_CACHE_HOME/isaac-rerun)")
    args = parser.parse_args()
    cache = args.cache or cache_root()
    out_dir = cache / "assets" / ASSET_DIR_NAME
    stamp = out_dir / STAMP_NAME
    built = all((out_dir / name).is_file() for name in (USD_NAME, NESTED_USD_NAME))
    if not args.force and stamp.is_file() and stamp.read_text() == stamp_text() and built:
        return 0  # up to date: quiet
    (cache / "assets").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="a1-build-", dir=cache / "assets") as tmp:
        staged = Path(tmp) / ASSET_DIR_NAME
        info = build(staged, cache / "downloads", Path(tmp) / "work")
        old = Path(tmp) / "previous"
        if out_dir.exists():
            out_dir.rename(old)
        staged.rename(out_dir)
    print(
        f"A1 asset: {out_dir / USD_NAME} and {NESTED_USD_NAME} ({len(BODY_NAMES)} links, {info['joints']} joints, "
        f"{info['meshes']} meshes; "
        f"download {info['download_s']:.1f} s, build {info['build_s']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
