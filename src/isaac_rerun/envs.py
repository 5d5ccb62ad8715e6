"""The Isaac Lab env behind any wrapper: finding it, its step duration, and the hook that catches terminal frames.

Isaac Lab resets finished envs **inside** ``env.step()`` (``_reset_idx``), so after ``step()`` returns a finished env
already shows its next episode's first pose. :class:`ResetHook` wraps the env instance's ``_reset_idx`` and calls
back just before it runs, which is the only moment the terminal pose can be read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from isaac_rerun._util import Patch, WarnOnce

__all__ = ["ResetHook", "application_id_of", "find_isaac_env", "step_dt_of"]


def find_isaac_env(env: Any, argument: str = "env") -> Any:
    """The Isaac Lab env (``…unwrapped``, with a ``scene``) behind any chain of wrappers, or a ``ValueError``."""
    base = getattr(env, "unwrapped", env)
    if not hasattr(base, "scene"):
        raise ValueError(
            f"`{argument}` does not lead to an Isaac Lab environment: {type(base).__name__} has no `scene` attribute "
            "(expected an isaaclab DirectRLEnv / ManagerBasedRLEnv, possibly wrapped)"
        )
    return base


def step_dt_of(env: Any) -> float:
    """Simulated seconds per env step (physics dt × decimation)."""
    dt = getattr(env, "step_dt", None)
    if dt is None:
        physics_dt = getattr(env, "physics_dt", None)
        decimation = getattr(getattr(env, "cfg", None), "decimation", 1)
        if physics_dt is None:
            raise ValueError(f"cannot tell the env step duration of {type(env).__name__}: no `step_dt` / `physics_dt`")
        dt = physics_dt * decimation
    return float(dt)


def application_id_of(env: Any) -> str:
    """The env's Gymnasium id (``env.spec.id``), else ``"isaac_rerun"``."""
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or "isaac_rerun"


class ResetHook:
    """Call ``before_reset()`` each time ``env._reset_idx`` is about to run, until :meth:`remove`.

    The hook is put on the env **instance**; the class is untouched, and an instance-level hook of someone else
    that was there before is kept.
    """

    def __init__(self, env: Any, before_reset: Callable[[], None], warn: WarnOnce | None = None):
        self._patch: Patch | None = None
        original = getattr(env, "_reset_idx", None)
        if original is None or not callable(original):
            (warn or WarnOnce())(
                "hook",
                f"isaac_rerun: {type(env).__name__} has no `_reset_idx`; terminal frames will show post-reset poses",
            )
            return

        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            def _reset_idx(*args: Any, **kwargs: Any) -> Any:
                before_reset()
                return original(*args, **kwargs)

            return _reset_idx

        self._patch = Patch(env, "_reset_idx", make)

    def remove(self) -> None:
        """Take the hook off (idempotent)."""
        if self._patch is not None:
            self._patch.remove()
            self._patch = None
