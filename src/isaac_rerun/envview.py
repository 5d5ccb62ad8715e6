"""The env as channels see it: a narrow, read-only view of its scene and its managers, built once per run.

:class:`EnvView` wraps the Isaac Lab env (``env.unwrapped``, 2.x or 3.x, manager-based or direct) and turns what its
managers hold into **signal sources**: named per-env readers of ``(num_envs, k)`` tensors with column names, read
batched by :class:`~isaac_rerun.channels.signals.SignalChannel` at each recorded frame (and every step into the
rolling history). It never steps the env and never writes to it.

Where Isaac Lab keeps what (checked against isaaclab 3.0.0 and 2.3.x):

* **reward terms**: ``reward_manager._step_reward`` ``(num_envs, num_terms)`` is each term's value × weight; the
  env's reward is its sum × ``step_dt``, so each term's contribution is ``_step_reward[:, i] * step_dt``.
  ``compute()`` runs before the in-step reset, which leaves ``_step_reward`` alone.
* **termination reasons**: ``termination_manager._term_dones`` ``(num_envs, num_terms)`` bool (a dict of
  ``name -> (num_envs,)`` in 2.2); reset does not clear it, so at ``step()``'s return the flags of the envs that
  ended say why. Isaac Lab 2.3.0 keeps stale flags of other envs (Isaac Lab issue #3720): only the rows of the envs
  that ended in the step are read.
* **commands**: ``command_manager.get_command(name)`` ``(num_envs, d)``; a velocity command (``[vx, vy, wz]`` in the
  base frame) is paired with the measured ``root_lin_vel_b`` / ``root_ang_vel_b`` of its asset.
* **actions**: names per column of ``action_manager.action`` from the joint action terms' joint names.
* **joints**: each articulation's ``joint_pos``, ``joint_vel`` and applied efforts, named by ``joint_names``;
  limits from ``data.joint_pos_limits``.
* **observations**: ``observation_manager._obs_buffer[group]``, split into terms by ``group_obs_term_dim``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from isaac_rerun._arrays import as_tensor

__all__ = ["EnvView", "SignalSource"]


@dataclass(frozen=True)
class SignalSource:
    """One signal: a per-env reader and where and how it is drawn."""

    path: str
    """Entity path below each env's scalars (``reward/feet_air_time``, ``joint_pos``, ``command/base_velocity``)."""
    read: Callable[[], Any]
    """``() -> (num_envs, k)`` tensor or array, read from the simulator now."""
    columns: tuple[str, ...]
    """The ``k`` series names."""
    per_step: bool = False
    """A value of the step that led to the frame (not logged again on a reset frame)."""
    episode_sum: bool = False
    """Summed over each whole episode and logged at its terminal frame (``episode_return/<term>``)."""
    group: str = ""
    """The plot it is drawn in (``reward terms``, ``joints`` …); sources of one group share a view."""
    user: bool = False
    """A user's signal (dropped with a warning when it raises)."""
    limits: tuple[tuple[float, float], ...] | None = None
    """Per column: its lower and upper limit (joint position limits), shown beside the plot."""
    split: bool = False
    """Each column is an entity of its own, ``{path}/{column}`` (the reward terms: read in one go, drawn apart)."""

    def column_paths(self) -> list[str]:
        """The entity path (below each env's scalars) of each column group: ``[path]``, or one per column (split)."""
        return [f"{self.path}/{c}" for c in self.columns] if self.split else [self.path]


@dataclass
class _Joints:
    asset: str
    names: list[str]
    articulation: Any
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)


class EnvView:
    """A read-only view of an Isaac Lab env for channels (see the module docstring).

    Parameters
    ----------
    env:
        The Isaac Lab env (``env.unwrapped``: a ``ManagerBasedRLEnv`` or ``DirectRLEnv``, 2.x or 3.x), or None
        (no managers, no signals: a scene without an env).
    """

    def __init__(self, env: Any = None):
        self.env = env
        self.step_dt = float(getattr(env, "step_dt", 0.0) or 0.0)
        self.reward_manager = getattr(env, "reward_manager", None)
        self.termination_manager = getattr(env, "termination_manager", None)
        self.command_manager = getattr(env, "command_manager", None)
        self.action_manager = getattr(env, "action_manager", None)
        self.observation_manager = getattr(env, "observation_manager", None)
        scene = getattr(env, "scene", None)
        self.articulations: dict[str, Any] = dict(getattr(scene, "articulations", None) or {})

    @property
    def manager_based(self) -> bool:
        """True for a manager-based env (reward and termination managers)."""
        return self.reward_manager is not None and self.termination_manager is not None

    # ------------------------------------------------------------------ signal sources
    def reward_sources(self) -> list[SignalSource]:
        """Each active reward term's contribution to the step's reward (weighted value × ``step_dt``)."""
        rm = self.reward_manager
        if rm is None or getattr(rm, "_step_reward", None) is None:
            return []
        names = list(getattr(rm, "_term_names", None) or rm.active_terms)
        cfgs = list(getattr(rm, "_term_cfgs", None) or [None] * len(names))
        dt = self.step_dt
        # zero-weight terms are zeroed and never evaluated by Isaac Lab (metric-only terms): not recorded
        keep = [i for i, cfg in enumerate(cfgs) if cfg is None or getattr(cfg, "weight", 1.0) != 0.0]
        if not keep:
            return []
        columns = tuple(names[i] for i in keep)
        every = keep == list(range(len(names)))

        def read() -> Any:
            values = as_tensor(rm._step_reward)
            return (values if every else values[:, keep]) * dt

        return [SignalSource("reward", read, columns, per_step=True, episode_sum=True, group="reward", split=True)]

    def command_sources(self) -> list[SignalSource]:
        """Each command term's value; a velocity command beside its asset's measured base velocity."""
        cm = self.command_manager
        if cm is None:
            return []
        out = []
        for name in list(cm.active_terms):
            try:
                value = as_tensor(cm.get_command(name))
            except Exception:
                continue
            if getattr(value, "ndim", 0) != 2:
                continue
            term = cm.get_term(name) if hasattr(cm, "get_term") else None
            velocity = _is_velocity_command(term, value.shape[1])
            cols = ("vx", "vy", "wz") if velocity else tuple(f"[{k}]" for k in range(value.shape[1]))

            def read(name: str = name) -> Any:
                return as_tensor(cm.get_command(name))

            group = f"command {name}"
            out.append(SignalSource(f"command/{name}", read, tuple(f"{c} command" for c in cols), group=group))
            asset = getattr(term, "robot", None) if velocity else None
            if asset is not None:

                def measured(asset: Any = asset) -> Any:
                    import torch

                    data = asset.data
                    lin, ang = as_tensor(data.root_lin_vel_b), as_tensor(data.root_ang_vel_b)
                    return torch.cat([lin[:, 0:2], ang[:, 2:3]], dim=1)

                out.append(SignalSource(f"command/{name}/measured", measured, cols, group=group))
        return out

    def joint_sources(self) -> list[SignalSource]:
        """Joint positions, velocities and applied efforts of each articulation with joints, one series per joint."""
        out = []
        joints = self.joints()
        for j in joints:
            prefix = "" if len(joints) == 1 else f"{j.asset}/"
            data = j.articulation.data
            names = tuple(j.names)
            limits = tuple(j.limits[n] for n in names) if len(j.limits) == len(names) else None
            for attr, path in (("joint_pos", "joint_pos"), ("joint_vel", "joint_vel")):

                def read(data: Any = data, attr: str = attr) -> Any:
                    return as_tensor(getattr(data, attr))

                lim = limits if attr == "joint_pos" else None
                out.append(SignalSource(f"{prefix}{path}", read, names, group=f"{prefix}{path}", limits=lim))
            effort = _effort_reader(j.articulation)
            if effort is not None:
                out.append(SignalSource(f"{prefix}joint_effort", effort, names, group=f"{prefix}joint_effort"))
        return out

    def action_names(self, action_dim: int | None = None) -> list[str] | None:
        """Names of the columns of ``action_manager.action``: joint action terms by joint (``FL_hip_joint``), other
        terms by term and index (``gripper[0]``); None for a direct env."""
        am = self.action_manager
        if am is None:
            return None
        names: list[str] = []
        dims = list(getattr(am, "action_term_dim", []) or [])
        for k, term_name in enumerate(am.active_terms):
            term = am.get_term(term_name)
            dim = dims[k] if k < len(dims) else int(getattr(term, "action_dim", 0))
            joint_names = list(getattr(term, "_joint_names", None) or [])
            if len(joint_names) == dim:
                names += joint_names
            else:
                names += [f"{term_name}[{i}]" for i in range(dim)]
        if action_dim is not None and len(names) != action_dim:
            return None
        if len(set(names)) != len(names):  # the same joint in two terms: say which term
            names = [f"{t}:{n}" for t, n in zip(self._action_terms_per_column(dims), names, strict=True)]
        return names

    def observation_sources(self) -> list[SignalSource]:
        """Each observation term of each group, named ``observation/<group>/<term>``."""
        om = self.observation_manager
        if om is None:
            return []
        out = []
        dims = getattr(om, "group_obs_term_dim", {}) or {}
        for group, terms in dict(om.active_terms).items():
            term_dims = list(dims.get(group, []))
            if len(term_dims) != len(terms):
                continue
            start = 0
            for term, shape in zip(terms, term_dims, strict=True):
                width = int(math.prod(shape)) if isinstance(shape, (tuple, list)) else int(shape)

                def read(group: str = group, term: str = term, start: int = start, width: int = width) -> Any:
                    buf = om._obs_buffer[group]
                    if isinstance(buf, dict):  # concatenate_terms=False
                        t = as_tensor(buf[term])
                        return t.reshape(t.shape[0], -1)
                    t = as_tensor(buf)
                    return t.reshape(t.shape[0], -1)[:, start : start + width]

                cols = tuple(f"[{i}]" for i in range(width))
                out.append(SignalSource(f"observation/{group}/{term}", read, cols, group=f"observation {group}"))
                start += width
        return out

    def joints(self) -> list[_Joints]:
        """The articulations with joints, their joint names and position limits."""
        out = []
        for name, asset in self.articulations.items():
            names = list(getattr(asset, "joint_names", None) or getattr(asset.data, "joint_names", None) or [])
            if not names:
                continue
            j = _Joints(name, names, asset)
            limits = getattr(asset.data, "joint_pos_limits", None) or getattr(asset.data, "soft_joint_pos_limits", None)
            if limits is not None:
                try:
                    lim = np.asarray(as_tensor(limits)[0].detach().cpu().numpy(), dtype=np.float64)
                    j.limits = {n: (float(lo), float(hi)) for n, (lo, hi) in zip(names, lim, strict=True)}
                except Exception:
                    j.limits = {}
            out.append(j)
        return out

    # ------------------------------------------------------------------ termination reasons
    def termination_terms(self) -> list[str]:
        """The termination manager's active terms (empty for a direct env)."""
        tm = self.termination_manager
        return list(tm.active_terms) if tm is not None else []

    def termination_reasons(self, env_ids: Sequence[int]) -> list[str]:
        """Why each of ``env_ids`` (envs whose episode ended in the step that just returned) ended: its termination
        terms joined by ``+`` (``"base_contact"``, ``"time_out"``); ``""`` where no flag is set or for a direct env.
        Reads only those envs' rows (one small host copy)."""
        tm = self.termination_manager
        if tm is None or not len(env_ids):
            return ["" for _ in env_ids]
        names = list(tm.active_terms)
        flags = getattr(tm, "_term_dones", None)
        if isinstance(flags, dict):  # Isaac Lab 2.2: name -> (num_envs,)
            cols = [_rows_bool(flags[n], env_ids) for n in names]
            table = np.stack(cols, axis=1) if cols else np.zeros((len(env_ids), 0), dtype=bool)
        elif flags is not None:
            table = _rows_bool(flags, env_ids).reshape(len(env_ids), -1)
        else:
            return ["" for _ in env_ids]
        return ["+".join(n for n, f in zip(names, row, strict=False) if f) for row in table]

    def time_out_terms(self) -> set[str]:
        """The termination terms that are time-outs (``get_term_cfg(name).time_out``)."""
        tm = self.termination_manager
        out = set()
        for name in self.termination_terms():
            try:
                if getattr(tm.get_term_cfg(name), "time_out", False):  # type: ignore[union-attr]
                    out.add(name)
            except Exception:
                continue
        return out

    def _action_terms_per_column(self, dims: list[int]) -> list[str]:
        am = self.action_manager
        out: list[str] = []
        for term_name, dim in zip(am.active_terms, dims, strict=False):  # type: ignore[union-attr]
            out += [term_name] * int(dim)
        return out


def _effort_reader(articulation: Any) -> Callable[[], Any] | None:
    """The applied joint efforts after clipping: Isaac Lab 3.0's ``articulation.actuators.applied_effort``, 2.x's
    ``data.applied_torque``; None if neither exists."""
    actuators = getattr(articulation, "actuators", None)
    if actuators is not None and hasattr(actuators, "applied_effort"):
        return lambda: as_tensor(actuators.applied_effort)
    data = articulation.data
    if hasattr(type(data), "applied_torque") or hasattr(data, "applied_torque"):
        return lambda: as_tensor(data.applied_torque)
    return None


def _is_velocity_command(term: Any, dim: int) -> bool:
    """A base-velocity command (``[vx, vy, wz]`` of an asset): Isaac Lab's ``UniformVelocityCommand`` family."""
    if dim != 3 or term is None:
        return False
    return "velocity" in type(term).__name__.lower() and hasattr(term, "robot")


def _rows_bool(x: Any, env_ids: Sequence[int]) -> np.ndarray:
    t = as_tensor(x)
    if hasattr(t, "detach"):
        import torch

        idx = torch.as_tensor(list(env_ids), device=t.device, dtype=torch.long)
        return t.index_select(0, idx).detach().cpu().numpy().astype(bool)
    return np.asarray(t)[list(env_ids)].astype(bool)
