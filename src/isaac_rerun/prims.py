"""Where each body's prim is on the USD stage: Isaac Lab's prim-path expressions resolved per env, a link's rigid body.

An Isaac Lab asset names its prims with a regex (``/World/envs/env_.*/Robot``, ``{ENV_REGEX_NS}/Cube``); a robot's
links may be nested anywhere below its root (``Robot/trunk/FL_hip``). :class:`PrimPaths` resolves an expression in
one env, finds the rigid-body prim of a named link (the prim whose visuals are read and whose path becomes the
entity), lists the prims a global (not cloned) asset matches, and names the prim the cloned envs live under.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PrimPaths", "asset_prim_patterns", "join"]

ENV_PATTERN = re.compile(r"^(?P<head>.*/env_)(?:\.\*|\[\^/\]\+|\.\+|\\d\+)(?P<tail>(?:/.*)?)$")
"""An env-cloned prim-path expression: ``head`` up to ``env_``, the env regex (``.*`` in Isaac Lab 2.x, ``[^/]+`` in
3.x), then the ``tail``."""


class PrimPaths:
    """Prim paths on the stage of an Isaac Lab ``InteractiveScene`` (``stage``: its USD stage, or None without one:
    then names stand for paths and nothing is looked up)."""

    def __init__(self, scene: Any, stage: Any):
        self.scene = scene
        self.stage = stage

    def resolve_env_pattern(self, pattern: str, env: int) -> str | None:
        """An Isaac Lab prim-path expression (``/World/envs/env_.*/Robot/.*``, ``{ENV_REGEX_NS}/Cube``) resolved in
        env ``env`` (``/World/envs/env_3/Robot/.*``); None if it is not per env."""
        ns = getattr(self.scene, "env_regex_ns", None)
        if isinstance(ns, str) and ns:
            pattern = pattern.replace("{ENV_REGEX_NS}", ns)
        return self.env_path(pattern, env)

    def env_path(self, pattern: str, env: int) -> str | None:
        """``pattern`` (an asset's prim-path regex) resolved in env ``env``; None if it is not per env."""
        ns = getattr(self.scene, "env_regex_ns", None)
        if isinstance(ns, str) and ns and pattern.startswith(ns):
            paths = getattr(self.scene, "env_prim_paths", None)
            env_root = paths[env] if paths is not None and len(paths) > env else f"{ns.rsplit('/', 1)[0]}/env_{env}"
            return env_root + pattern[len(ns) :]
        m = ENV_PATTERN.match(pattern)
        return f"{m['head']}{env}{m['tail']}" if m else None

    def body_paths(self, pattern: str, env: int, body_name: str, kind: str) -> tuple[str, str]:
        """Entity path of a body in env ``env`` and the prim its visuals are read from."""
        root = self.env_path(pattern, env)
        assert root is not None
        source_root = root if self.has_children(root) else (self.env_path(pattern, 0) or root)
        if kind == "articulations":
            rel = self.find_body_rel(source_root, body_name)
            return join(root, rel), join(source_root, rel)
        return root, source_root

    def has_children(self, path: str) -> bool:
        if self.stage is None:
            return False
        prim = self.stage.GetPrimAtPath(path)
        return bool(prim and prim.IsValid() and prim.GetChildren())

    def matches(self, pattern: str) -> list[str]:
        if self.stage is None:
            return []
        regex = re.compile(pattern)
        return [str(p.GetPath()) for p in self.stage.Traverse() if regex.fullmatch(str(p.GetPath()))]

    def find_body_rel(self, root: str, body_name: str) -> str:
        """Path (relative to the asset root) of the rigid-body prim named ``body_name``; the name itself if unknown."""
        if self.stage is None:
            return body_name
        from pxr import Usd, UsdPhysics

        root_prim = self.stage.GetPrimAtPath(root)
        if not root_prim or not root_prim.IsValid():
            return body_name
        fallback = None
        for prim in Usd.PrimRange(root_prim, Usd.TraverseInstanceProxies()):
            if prim.GetName() == body_name:
                rel = str(prim.GetPath())[len(root) :].lstrip("/")
                if prim.HasAPI(UsdPhysics.RigidBodyAPI):
                    return rel
                fallback = fallback or rel
        return fallback if fallback is not None else body_name

    def envs_root(self) -> str:
        """The prim under which the cloned envs live (``/World/envs``)."""
        env_ns = getattr(self.scene, "env_ns", None)  # "/World/envs"
        if isinstance(env_ns, str) and env_ns.startswith("/"):
            return env_ns
        # "/World/envs/env_.*" (2.x) or "/World/envs/env_[^/]+" (3.x: not split at its last "/", which is the regex's)
        ns = getattr(self.scene, "env_regex_ns", None)
        m = ENV_PATTERN.match(ns) if isinstance(ns, str) else None
        if m and "/" in m["head"].strip("/"):
            return m["head"].rsplit("/", 1)[0]
        return "/World/envs"


def join(root: str, rel: str) -> str:
    """``root/rel`` (``root`` when ``rel`` is empty)."""
    return root if not rel else f"{root.rstrip('/')}/{rel}"


def asset_prim_patterns(kind: str, asset: Any, names: list[str]) -> list[str]:
    """The prim-path expressions of an asset's bodies: one per object of a collection, else the asset's own."""
    cfg = asset.cfg
    if kind == "rigid_object_collections":
        objs = getattr(cfg, "rigid_objects", None) or {}
        return [objs[n].prim_path for n in names if n in objs] if all(n in objs for n in names) else [cfg.prim_path]
    return [cfg.prim_path]
