"""The one device policy: which device a run uses, where a model computes, and whether the CPU
has a fast path for the precision asked for.

Every command that runs a model (train, decode, transcribe, serve, the Python API) chooses its
device with `select_device` — an explicit ``--device`` / ``run.device`` wins, else CUDA, else
another accelerator torch knows (XPU, MPS, ...), else the CPU — and every loop moves its batches
to `device_of` the model (`unheard.data.batch.Batch.to`), as torchtune's
``training.get_device`` and whisper's ``model.device`` do.
"""

from __future__ import annotations

import functools
import warnings

import torch
from torch import nn

AUTO = "auto"
# measured on an AVX2-only AMD EPYC (2 cores, torch 2.13): a Linear 640→2048 on (8, 200) tokens,
# forward + input backward, float32 vs bf16 autocast (see ../shared/ENVIRONMENT.md, 2026-12-07)
CPU_BF16_COST = "a bf16 Linear forward+backward took 2.90 s vs 0.057 s in float32 (~50x slower)"


def select_device(requested: str | torch.device | None = None) -> torch.device:
    """The device to run on.

    Args:
        requested: ``None`` or ``"auto"``: CUDA when available, then any other accelerator torch
            reports (``torch.accelerator``), then the CPU. Anything else (``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, ``"mps"``, ...) is taken as is, after checking that it exists.

    Returns:
        The device.

    Raises:
        ValueError: naming the device when it is not a device name, or not available here
            (e.g. ``cuda`` on a machine or torch build without CUDA).
    """
    if requested is None or str(requested) == AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        accelerator = _current_accelerator()
        return accelerator if accelerator is not None else torch.device("cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"device {str(requested)!r} is not a device name ({e})") from e
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU visible"
            raise ValueError(f"device {str(requested)!r} asked for, but CUDA is unavailable: {why}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(requested)!r} asked for, but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible"
            )
        return device
    accelerator = _current_accelerator()
    if accelerator is None or accelerator.type != device.type:
        found = accelerator.type if accelerator is not None else "none besides the CPU"
        raise ValueError(f"device {str(requested)!r} is unavailable here (accelerator: {found})")
    return device


def device_of(model: nn.Module) -> torch.device:
    """Where a model computes: its own ``device`` when it names one (``SpeechLLM.device``, HF
    models), else the device of its first parameter (the CPU if it has none)."""
    device = getattr(model, "device", None)
    if isinstance(device, torch.device):
        return device
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True when this CPU has native bf16 arithmetic (AVX512-BF16 or AMX), without which torch
    emulates bf16 matmuls at a fraction of float32's speed."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def native_bf16(device: torch.device | None = None) -> bool:
    """Whether a device computes bf16 natively: CUDA with bf16, or a CPU with AVX512-BF16 or AMX
    (`cpu_has_fast_bf16`); None: the device `select_device` picks."""
    device = select_device() if device is None else device
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_fast_bf16()


def resolve_dtype(dtype: str) -> torch.dtype:
    """The torch dtype of ``model.dtype``: ``auto`` is bfloat16 where `native_bf16` (on the device
    `select_device` picks), float32 elsewhere; a dtype name is that dtype."""
    if dtype == AUTO:
        return torch.bfloat16 if native_bf16() else torch.float32
    return getattr(torch, dtype)


def resolve_precision(mixed_precision: str, device: torch.device) -> str:
    """The mixed precision a run uses: ``auto`` is bf16 where the device computes bf16 natively
    (CUDA with bf16; a CPU with AVX512-BF16 or AMX, `cpu_has_fast_bf16`) and ``no`` elsewhere
    (an AVX2-only CPU emulates bf16 ~50x slower than float32); any other setting is kept.

    Measured on a 2-core AVX512-BF16 EPYC: bf16 autocast (and ``model.dtype: auto``'s bf16
    frozen weights) more than halves the real-LLM track's step (``benchmarks/README.md``).

    Args:
        mixed_precision: ``"auto"``, ``"no"``, ``"bf16"`` or ``"fp16"``.
        device: the run's device.
    """
    if mixed_precision != AUTO:
        return mixed_precision
    return "bf16" if native_bf16(device) else "no"


def warn_slow_precision(mixed_precision: str, device: torch.device) -> bool:
    """Warn (once per process and setting) when half precision is asked for on a CPU that has no
    fast path for it.

    Args:
        mixed_precision: ``"no"``, ``"bf16"`` or ``"fp16"``.
        device: the run's device.

    Returns:
        True when it warned.
    """
    if device.type != "cpu" or mixed_precision == "no":
        return False
    if mixed_precision == "bf16" and cpu_has_fast_bf16():
        return False
    return _warn_once(mixed_precision, torch.backends.cpu.get_cpu_capability())


@functools.cache
def _warn_once(mixed_precision: str, capability: str) -> bool:
    warnings.warn(
        f"run.mixed_precision={mixed_precision} on a CPU without native "
        f"{'bf16 (AVX512-BF16 or AMX)' if mixed_precision == 'bf16' else 'fp16'} "
        f"(torch reports {capability}): expect a 10-50x slower step ({CPU_BF16_COST}); "
        "use run.mixed_precision=no on this machine",
        stacklevel=3,
    )
    return True


def _current_accelerator() -> torch.device | None:
    accelerator = getattr(torch, "accelerator", None)  # torch >= 2.6
    if accelerator is None or not accelerator.is_available():
        return None
    return accelerator.current_accelerator()
