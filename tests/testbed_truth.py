"""Ground truth of the bundled test bed, shared by the tests that read recordings back and compare with it."""

from __future__ import annotations

import numpy as np

# the test bed's bodies: entity suffix (= USD prim path below the env) -> (asset group, asset, body index)
BODIES = {
    "Robot/base": ("articulations", "robot", 0),
    "Robot/cart": ("articulations", "robot", 1),
    "Robot/pole": ("articulations", "robot", 2),
    "Robot/tip": ("articulations", "robot", 3),
    "Cuboid": ("rigid_objects", "cuboid", 0),
    "Sphere": ("rigid_objects", "sphere", 0),
    "Capsule": ("rigid_objects", "capsule", 0),
    "Cylinder": ("rigid_objects", "cylinder", 0),
    "Cone": ("rigid_objects", "cone", 0),
    "Collection_Box": ("rigid_object_collections", "collection", 0),
    "Collection_Ball": ("rigid_object_collections", "collection", 1),
    "Collection_Can": ("rigid_object_collections", "collection", 2),
}


def sim_poses(scene) -> dict[tuple[str, str], np.ndarray]:
    """Every asset's (num_envs, num_bodies, 7) link poses (xyzw) as the simulator has them now, copied."""
    out = {}
    for group in ("articulations", "rigid_objects", "rigid_object_collections"):
        for name, asset in getattr(scene, group).items():
            out[(group, name)] = asset.data.body_link_pose_w.torch.detach().cpu().numpy().copy()
    return out
