"""CPU stand-ins for a 2-GPU machine, for ``tests/test_multigpu.py`` (imported at start-up by every Python process
whose ``PYTHONPATH`` holds this folder: the ``isaac-rerun`` launcher, torchrun, each rank).

Isaac Lab, rsl_rl and skrl refuse distributed training without CUDA in exactly these places, and each is replaced,
when its module is imported, by the same code on the CPU — nothing else:

========================================================== ============================================================
``isaaclab.cli.multigpu._visible_cuda_device_count``       the launcher's check ``--num_gpus <= visible GPUs``: returns
                                                           ``ISAAC_RERUN_CPU_GPUS`` (how many GPUs this stands in for)
``isaaclab.app.sim_launcher._resolve_distributed_device``  ``--distributed`` puts rank r's simulation on ``cuda:r``:
                                                           on ``cpu`` instead
``validate_distributed_device`` (``isaaclab_rl``'s         refuses ``--distributed`` on a CPU device: skipped
``entrypoints.common`` and the rsl_rl / skrl backends)
``rsl_rl``'s ``OnPolicyRunner._configure_multi_gpu``       rsl_rl's own code, run with its device check satisfied, a
                                                           **gloo** process group in place of NCCL and no
                                                           ``torch.cuda.set_device``
``skrl``'s import (its ``config.torch``)                   skrl's own code, run with a **gloo** process group in place
                                                           of NCCL and no ``torch.cuda.set_device``; then its default
                                                           device ``cuda:<local rank>`` is ``cpu``
========================================================== ============================================================

With ``ISAAC_RERUN_PID_DIR`` set, each rank (the first process with torchrun's ``RANK``) writes its pid to
``rank_<RANK>.pid`` there (the test kills one).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any


def _launcher(module: ModuleType) -> None:
    module._visible_cuda_device_count = lambda: int(os.environ.get("ISAAC_RERUN_CPU_GPUS", "2"))


def _sim_launcher(module: ModuleType) -> None:
    def resolve_distributed_device(cfg: Any, args: dict[str, Any]) -> None:
        if not args.get("distributed", False):
            return
        sim_cfg = getattr(cfg, "sim", None)
        if sim_cfg is not None:
            sim_cfg.device = "cpu"
        args["device"] = "cpu"

    module._resolve_distributed_device = resolve_distributed_device


def _no_device_check(module: ModuleType) -> None:
    if hasattr(module, "validate_distributed_device"):
        module.validate_distributed_device = lambda args_cli: None


@contextlib.contextmanager
def _gloo_no_cuda() -> Iterator[None]:
    """While the block runs: process groups are gloo (not NCCL), ``torch.cuda.set_device`` does nothing."""
    import torch

    init, set_device = torch.distributed.init_process_group, torch.cuda.set_device

    def init_gloo(backend: Any = None, *args: Any, **kwargs: Any) -> Any:
        return init("gloo", *args, **kwargs)

    torch.distributed.init_process_group = init_gloo
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.distributed.init_process_group, torch.cuda.set_device = init, set_device


def _rsl_rl_runner(module: ModuleType) -> None:
    runner = module.OnPolicyRunner
    configure = runner._configure_multi_gpu

    def configure_multi_gpu(self: Any) -> None:
        device = self.device
        self.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"  # rsl_rl: one GPU per local rank
        try:
            with _gloo_no_cuda():
                configure(self)
        finally:
            self.device = device

    runner._configure_multi_gpu = configure_multi_gpu


def _skrl(module: ModuleType) -> None:
    module.config.torch.device = "cpu"  # skrl's default device of a rank: cuda:<local rank>


AFTER: dict[str, Callable[[ModuleType], None]] = {
    "isaaclab.cli.multigpu": _launcher,
    "isaaclab.app.sim_launcher": _sim_launcher,
    "isaaclab_rl.entrypoints.common": _no_device_check,
    "isaaclab_rl.entrypoints.backends.train_rsl_rl": _no_device_check,
    "isaaclab_rl.entrypoints.backends.train_skrl": _no_device_check,
    "rsl_rl.runners.on_policy_runner": _rsl_rl_runner,
    "skrl": _skrl,
}
"""Replaced right after the module is executed."""

AROUND: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "skrl": _gloo_no_cuda,  # skrl's config starts the process group (NCCL) when skrl is imported
}
"""Stand-ins in place while the module is executed."""


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the modules of AFTER / AROUND with the other finders and patches each as it is executed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in AFTER and name not in AROUND:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        loader = spec.loader
        execute = loader.exec_module  # type: ignore[union-attr]

        def exec_module(module: ModuleType) -> None:
            with AROUND.get(name, contextlib.nullcontext)():
                execute(module)
            if name in AFTER:
                AFTER[name](module)

        loader.exec_module = exec_module  # type: ignore[union-attr, method-assign]
        return spec


sys.meta_path.insert(0, _PatchAfterImport())

if os.environ.get("ISAAC_RERUN_PID_DIR") and "RANK" in os.environ:
    try:  # the rank's process is the first with its RANK; Python subprocesses it starts inherit RANK: not them
        with open(os.path.join(os.environ["ISAAC_RERUN_PID_DIR"], f"rank_{os.environ['RANK']}.pid"), "x") as f:
            f.write(str(os.getpid()))
    except FileExistsError:
        pass
