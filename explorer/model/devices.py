"""Choosing the torch device: CUDA when there is one, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from explorer.errors import ExplorerError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def torch_version() -> str:
    """The installed torch's version (the window shows it without importing torch itself)."""
    return torch.__version__


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> tuple[str, ...]:
    """The device choices this machine has, in :data:`DEVICE_CHOICES` order.

    ``auto`` and ``cpu`` always; ``cuda`` and ``mps`` only when torch can use them, so the
    window can disable the rest of its Device menu.
    """
    present = {"cuda": torch.cuda.is_available(), "mps": _mps_available()}
    return tuple(name for name in DEVICE_CHOICES if present.get(name, True))


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a user's choice (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``) into a device.

    An explicit request for hardware that is not there is an error rather than a silent
    fall-back, so a user who asked for the GPU knows they are not getting it.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ExplorerError(
            f"device {name!r} was requested but no CUDA GPU is available here; "
            "choose the CPU or automatic"
        )
    if name == "mps" and not _mps_available():
        raise ExplorerError(
            "device 'mps' was requested but Apple MPS is not available here; "
            "choose the CPU or automatic"
        )
    try:
        return torch.device(name)
    except RuntimeError as exc:
        choices = ", ".join(DEVICE_CHOICES)
        raise ExplorerError(f"unknown device {name!r}; choose one of {choices}") from exc


def describe_device(device: str | torch.device) -> str:
    """A short human label such as ``CUDA (NVIDIA H200)`` or ``CPU``."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    return device.type.upper()
