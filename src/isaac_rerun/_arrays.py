"""Rows of Isaac Lab per-env data (numpy, torch on any device, 3.x ``ProxyArray``) as owned numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def as_tensor(x: Any) -> Any:
    """The tensor behind Isaac Lab data: a 3.x ``ProxyArray``'s ``.torch``; anything else as it is."""
    return x.torch if hasattr(x, "torch") and hasattr(x, "warp") else x


def to_numpy(x: Any) -> np.ndarray:
    """A small array (e.g. env ids) on the host, as numpy."""
    x = as_tensor(x)
    if hasattr(x, "detach"):
        return np.asarray(x.detach().to("cpu").numpy())
    return np.asarray(x)


class RowSelector:
    """Pick fixed rows (e.g. the logged envs) of per-row arrays into owned numpy arrays.

    On the CPU the rows are indexed straight out of the tensor's memory (numpy fancy indexing copies them); on a GPU
    they are selected on the device (the index tensor is made once per device) before one small host copy. So the
    cost does not grow with the number of envs, and nothing returned aliases simulator memory.
    """

    def __init__(self, rows: Sequence[int] | np.ndarray):
        self.host = np.asarray(rows, dtype=np.int64)
        self._device: dict[str, Any] = {}
        self._views: list[tuple[Any, np.ndarray]] = []  # numpy views of the last CPU tensors seen (kept alive)

    def __call__(self, x: Any, dtype: Any = np.float32) -> np.ndarray:
        x = as_tensor(x)
        if isinstance(x, np.ndarray):
            return np.asarray(x[self.host], dtype=dtype)
        if hasattr(x, "index_select"):  # torch.Tensor
            if x.is_cpu:
                # Isaac Lab hands out the same buffers every step (done flags, rewards): their views are cached
                for tensor, view in self._views:
                    if tensor is x:
                        return np.asarray(view[self.host], dtype=dtype)
                view = x.detach().numpy()
                self._views = [(x, view), *self._views[:3]]
                return np.asarray(view[self.host], dtype=dtype)
            key = str(x.device)
            idx = self._device.get(key)
            if idx is None:
                import torch

                idx = self._device[key] = torch.as_tensor(self.host, device=x.device, dtype=torch.long)
            rows = x.index_select(0, idx).detach().to("cpu")
            if rows.is_floating_point():
                rows = rows.float()  # numpy has no bfloat16
            return np.array(rows.numpy(), dtype=dtype, copy=True)
        return np.asarray(x, dtype=dtype)[self.host]
