"""The bundled test bed (:mod:`isaac_rerun.testbed`): a real Isaac Lab 3.x task, kit-less on the CPU with Newton."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.isaaclab
pytest.importorskip("isaaclab")

GPRIM_KINDS = {"Mesh", "Cube", "Sphere", "Capsule", "Cylinder", "Cone", "Plane"}
ENV0 = "/World/envs/env_0"


def test_committed_robot_usd_is_up_to_date(tmp_path):
    """``assets/robot.usda`` is exactly what the generator writes (regenerate with ``python -m ...assets``)."""
    from isaac_rerun.testbed import assets

    out = assets.write_robot_usd(tmp_path / "robot.usda")
    assert out.read_text() == assets.ROBOT_USD_PATH.read_text()


def test_robot_usd_authoring():
    """The asset has the physics and visual features the scene logger is tested against."""
    from pxr import Usd, UsdGeom, UsdPhysics, UsdShade

    from isaac_rerun.testbed import assets

    stage = Usd.Stage.Open(str(assets.ROBOT_USD_PATH))
    root = stage.GetDefaultPrim()
    assert root.GetName() == assets.ROBOT_PRIM_NAME and root.HasAPI(UsdPhysics.ArticulationRootAPI)
    for body in assets.BODY_NAMES:
        prim = root.GetChild(body)
        assert prim.HasAPI(UsdPhysics.RigidBodyAPI) and prim.HasAPI(UsdPhysics.MassAPI), body
        assert UsdPhysics.MassAPI(prim).GetMassAttr().Get() > 0
    joint_types = {p.GetName(): p.GetTypeName() for p in root.GetChild("joints").GetChildren()}
    assert joint_types == {
        "base_weld": "PhysicsFixedJoint",
        "cart_slider": "PhysicsPrismaticJoint",
        "pole_hinge": "PhysicsRevoluteJoint",
        "tip_hinge": "PhysicsRevoluteJoint",
    }
    colored = {"displayColor": 0, "material": 0}
    non_uniform = False
    for rel, kind in assets.VISUAL_PRIMS.items():
        prim = root.GetPrimAtPath(rel)
        assert prim.GetTypeName() == kind, rel
        assert UsdGeom.Imageable(prim).ComputePurpose() == UsdGeom.Tokens.default_
        assert prim.GetParent().HasAPI(UsdPhysics.RigidBodyAPI), f"{rel} is not a child of a body prim"
        if UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()[0]:
            colored["material"] += 1
        elif UsdGeom.Gprim(prim).GetDisplayColorAttr().HasAuthoredValue():
            colored["displayColor"] += 1
        scale = UsdGeom.XformCommonAPI(prim).GetXformVectors(Usd.TimeCode.Default())[2]
        non_uniform |= max(scale) - min(scale) > 1e-6
    assert colored["displayColor"] and colored["material"]
    assert non_uniform
    mesh = UsdGeom.Mesh(root.GetPrimAtPath("cart/chassis"))
    assert len(mesh.GetNormalsAttr().Get()) == len(mesh.GetFaceVertexIndicesAttr().Get())
    assert {3, 4} <= set(mesh.GetFaceVertexCountsAttr().Get())
    for rel in assets.COLLIDER_PRIMS:
        assert root.GetPrimAtPath(rel).HasAPI(UsdPhysics.CollisionAPI), rel


def test_task_is_registered():
    import gymnasium as gym

    from isaac_rerun.testbed import TASK_ID

    spec = gym.spec(TASK_ID)
    assert spec.entry_point == "isaac_rerun.testbed.env:TestbedEnv"
    assert spec.kwargs["env_cfg_entry_point"] == "isaac_rerun.testbed.env:TestbedEnvCfg"


def test_scene_assets(testbed_env):
    from isaac_rerun.testbed import RIGID_OBJECT_NAMES, TestbedEnv

    env = testbed_env.unwrapped
    assert isinstance(env, TestbedEnv)
    scene = env.scene
    assert scene.num_envs == 4 and env.step_dt != env.physics_dt
    assert list(scene.articulations) == ["robot"]
    robot = scene.articulations["robot"]
    assert robot.num_bodies >= 3 and robot.body_names == ["base", "cart", "pole", "tip"]
    assert robot.joint_names == ["cart_slider", "pole_hinge", "tip_hinge"]
    assert sorted(scene.rigid_objects) == sorted(RIGID_OBJECT_NAMES)
    assert list(scene.rigid_object_collections) == ["collection"]
    assert scene.rigid_object_collections["collection"].body_names == ["box", "ball", "can"]


def test_stage_holds_every_gprim_kind(testbed_env):
    from pxr import Usd, UsdGeom

    from isaac_rerun.testbed import assets

    stage = testbed_env.unwrapped.scene.stage
    kinds = {p.GetTypeName() for p in Usd.PrimRange(stage.GetPrimAtPath(ENV0)) if p.IsA(UsdGeom.Gprim)}
    assert kinds >= GPRIM_KINDS
    for rel, kind in assets.VISUAL_PRIMS.items():
        assert stage.GetPrimAtPath(f"{ENV0}/Robot/{rel}").GetTypeName() == kind, rel
    for name, kind in [("Cuboid", "Cube"), ("Sphere", "Sphere"), ("Capsule", "Capsule")]:
        assert stage.GetPrimAtPath(f"{ENV0}/{name}/geometry/mesh").GetTypeName() == kind
    assert stage.GetPrimAtPath(f"{ENV0}/Cylinder/geometry/mesh").GetTypeName() == "Cylinder"
    assert stage.GetPrimAtPath(f"{ENV0}/Cone/geometry/mesh").GetTypeName() == "Cone"


def test_random_policy_terminates_and_truncates(testbed_env):
    """Random actions end episodes both ways within 600 steps; every body pose stays finite."""
    import torch

    env = testbed_env.unwrapped
    testbed_env.reset(seed=0)
    gen = torch.Generator().manual_seed(0)
    terminated = truncated = 0
    for step in range(600):
        actions = torch.rand(env.num_envs, 1, generator=gen) * 2.0 - 1.0
        _, reward, term, trunc, _ = testbed_env.step(actions)
        assert reward.shape == (env.num_envs,) and torch.isfinite(reward).all()
        terminated += int(term.sum())
        truncated += int(trunc.sum())
        if step % 20 == 0:
            for group in (env.scene.articulations, env.scene.rigid_objects, env.scene.rigid_object_collections):
                for name, asset in group.items():
                    assert torch.isfinite(asset.data.body_pose_w.torch).all(), name
        if terminated and truncated and step >= 200:
            break
    assert terminated > 0, "no episode terminated"
    assert truncated > 0, "no episode timed out"


def test_reset_puts_props_back_and_the_cone_stays(testbed_env):
    import torch

    env = testbed_env.unwrapped
    testbed_env.reset()
    origins = env.scene.env_origins
    for name, obj in env.scene.rigid_objects.items():
        want = obj.data.default_root_pose.torch[:, :3] + origins
        torch.testing.assert_close(obj.data.body_pose_w.torch[:, 0, :3], want, atol=1e-4, rtol=0, msg=name)
    coll = env.scene["collection"]
    want = coll.data.default_body_pose.torch[..., :3] + origins[:, None]
    torch.testing.assert_close(coll.data.body_pose_w.torch[..., :3], want, atol=1e-4, rtol=0)
    for _ in range(30):
        testbed_env.step(torch.zeros(env.num_envs, 1))
    cone = env.scene["cone"].data.body_pose_w.torch[:, 0, :3]  # kinematic: no collider, must not fall
    torch.testing.assert_close(cone, env.scene["cone"].data.default_root_pose.torch[:, :3] + origins, atol=1e-4, rtol=0)
    sphere_z = env.scene["sphere"].data.body_pose_w.torch[:, 0, 2]  # dynamic: falls onto the ground slab
    assert (sphere_z < 0.2).all() and (sphere_z > 0.0).all()


def test_factory_builds_another_configuration(make_testbed_env):
    """A test's own env (here 2 envs, 0.5 s episodes); the shared env is closed meanwhile and rebuilt afterwards."""
    import torch

    env = make_testbed_env(num_envs=2, episode_length_s=0.5, scene__env_spacing=3.0)
    base = env.unwrapped
    assert base.num_envs == 2 and base.max_episode_length == 30
    env.reset()
    truncated = torch.zeros(2, dtype=torch.bool)
    for _ in range(base.max_episode_length):
        _, _, _, trunc, _ = env.step(torch.zeros(2, 1))
        truncated |= trunc
    assert truncated.all()
    with pytest.raises(AttributeError):
        make_testbed_env(no_such_option=1)


def test_shared_env_survives_the_factory(testbed_env):
    import torch

    assert testbed_env.unwrapped.num_envs == 4
    testbed_env.reset()
    _, reward, _, _, _ = testbed_env.step(torch.zeros(4, 1))
    assert reward.shape == (4,)
