"""FSDP2 for the training recipe: which modules become FSDP units, and the trained state gathered
from the shards (to save) and cut back into them (to resume).

``configs/accelerate/fsdp.yaml`` launches through ``accelerate launch`` (``distributed_type:
FSDP``, ``fsdp_version: 2``), which puts ``ACCELERATE_USE_FSDP`` and ``FSDP_*`` into each
process's environment. The recipe reads them here and shards the model itself with torch's
``fully_shard``, and builds its Accelerator without them. Why not Accelerate's own FSDP: it turns
FSDP on only for GPU-like distributed types, so on the CPU the same config silently trains as
plain data parallel, and nothing of the FSDP path could be run or tested without a GPU;
``fully_shard`` shards alike on the CPU (gloo) and on GPUs (NCCL), so the code tested here is
the code that runs there.

The units: each LLM block (the LLM's ``_no_split_modules``: ``MT5Block``, ``Qwen2DecoderLayer``,
...), then the root ``SpeechLLM`` holding the rest (embeddings, LM head, layer mix, adapter). A
block mixes frozen weights with trained LoRA: FSDP2 keeps ``requires_grad`` per parameter, so
frozen weights are sharded and gathered but get no gradient or optimizer state. A frozen
encoder is left out of FSDP (replicated on each rank, as under DDP): it is small next to the LLM,
and a rank whose batch skips it (encoder cache hits, text-only batches) would otherwise leave the
other ranks waiting in its all-gather. A trainable encoder is sharded with the root.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass

import torch
from torch import nn

from unheard.checkpoint import full_tensor
from unheard.model.speech_llm import SpeechLLM
from unheard.plan import llm_blocks

# what `accelerate launch` sets for a config with `distributed_type: FSDP`
USE_FSDP = "ACCELERATE_USE_FSDP"


@dataclass(frozen=True)
class FsdpOptions:
    """The settings of ``configs/accelerate/fsdp.yaml`` that the recipe honours."""

    reshard_after_forward: bool = True  # free a block's gathered weights after its forward
    # LLM module classes that become FSDP units (empty: the LLM's own `_no_split_modules`)
    unit_classes: tuple[str, ...] = ()


def fsdp_options(environ: Mapping[str, str] = os.environ) -> FsdpOptions | None:
    """The FSDP settings ``accelerate launch`` put into this process's environment.

    Returns:
        The options, or None when the launch did not ask for FSDP.

    Raises:
        ValueError: for FSDP version 1, settings this recipe does not support, or a DeepSpeed
            launch (not supported yet: the recipe would train it as plain DDP on a CPU and fail
            in accelerate's prepare on a GPU).
    """
    flag = lambda key, default: environ.get(key, default).lower() == "true"  # noqa: E731
    if flag("ACCELERATE_USE_DEEPSPEED", "false"):
        raise ValueError(
            "DeepSpeed is not supported yet by unheard train; launch with "
            "configs/accelerate/fsdp.yaml (sharded) or configs/accelerate/ddp.yaml"
        )
    if not flag(USE_FSDP, "false"):
        return None
    if environ.get("FSDP_VERSION", "1") != "2":
        raise ValueError(
            f"FSDP version {environ.get('FSDP_VERSION', '1')} asked for by the launch config: "
            "unheard trains with FSDP2 only (fsdp_version: 2, as configs/accelerate/fsdp.yaml)"
        )
    if flag("FSDP_CPU_RAM_EFFICIENT_LOADING", "false"):
        # transformers would then load the weights on rank 0 only, and nothing here copies them
        raise ValueError(
            "fsdp_cpu_ram_efficient_loading: true is not supported (every rank loads the "
            "frozen weights itself); set it to false"
        )
    if flag("FSDP_OFFLOAD_PARAMS", "false"):
        # the model's device is its layer-mix shard's, which offloading would put on the CPU
        raise ValueError("fsdp_offload_params: true is not supported yet; set it to false")
    if flag("FSDP_ACTIVATION_CHECKPOINTING", "false"):
        raise ValueError(
            "fsdp_activation_checkpointing: true is not supported: set it to false and use the "
            "training config's run.gradient_checkpointing=true (the LLM's own checkpointing)"
        )
    units = environ.get("FSDP_TRANSFORMER_CLS_TO_WRAP", "")
    return FsdpOptions(
        reshard_after_forward=flag("FSDP_RESHARD_AFTER_FORWARD", "true"),
        unit_classes=tuple(c.strip() for c in units.split(",") if c.strip()),
    )


@contextlib.contextmanager
def hidden_from_accelerate(environ: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """Hide the launch's FSDP request while the Accelerator is built, so that it only sets up
    the process group (gloo on the CPU, NCCL on GPUs) and leaves the sharding to `shard`."""
    value = environ.pop(USE_FSDP, None)
    try:
        yield
    finally:
        if value is not None:
            environ[USE_FSDP] = value


def shard(
    model: SpeechLLM, options: FsdpOptions, device: torch.device, mixed_precision: str = "no"
) -> SpeechLLM:
    """Shard ``model`` in place with FSDP2 over every process of the default process group.

    Args:
        model: the model, built on the CPU, with LoRA, gradient checkpointing and any earlier
            stage's weights already in place (sharding is the last step before the optimizer).
        options: from `fsdp_options`.
        device: this rank's device.
        mixed_precision: ``"no"`` or ``"bf16"``: bf16 gathers weights and computes in bf16,
            and reduces gradients in float32 (the trained shards stay float32).

    Returns:
        The same model object, now an FSDP module whose parameters are DTensor shards.

    Raises:
        ValueError: for fp16 (needs a sharded gradient scaler), or no LLM block found.
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import (
        MixedPrecisionPolicy,
        fully_shard,
        register_fsdp_forward_method,
    )

    if mixed_precision not in ("no", "bf16"):
        raise ValueError(
            f"run.mixed_precision={mixed_precision} is not supported with FSDP; use bf16 or no"
        )
    mesh = init_device_mesh(device.type, (torch.distributed.get_world_size(),))
    half = mixed_precision == "bf16"
    policy = MixedPrecisionPolicy(
        param_dtype=torch.bfloat16 if half else None, reduce_dtype=torch.float32 if half else None
    )
    blocks = llm_blocks(model, options.unit_classes)
    if not blocks:
        classes = options.unit_classes or getattr(model.llm, "_no_split_modules", None)
        raise ValueError(
            f"no LLM module of class {classes} to make an FSDP unit of; name the LLM's block "
            "class in the launch config's fsdp_transformer_layer_cls_to_wrap"
        )
    for block in blocks:
        fully_shard(block, mesh=mesh, reshard_after_forward=options.reshard_after_forward,
                    mp_policy=policy)  # fmt: skip
    encoder = model.encoder
    ignored = set() if encoder.trainable else set(encoder.parameters())
    # fully_shard moves what it shards to the device one unit at a time (no whole LLM on one
    # device, ever); what it ignores is moved here
    encoder.to(device)
    # the root's inputs stay as they are: a float32 frozen encoder reads float32 features
    root_policy = MixedPrecisionPolicy(
        param_dtype=policy.param_dtype, reduce_dtype=policy.reduce_dtype, cast_forward_inputs=False
    )
    fully_shard(model, mesh=mesh, mp_policy=root_policy, ignored_params=ignored)
    # a rank whose batch has no speech (text-only examples) leaves the layer mix and adapter
    # without gradients: reduce zeros for them, or the ranks' reduce-scatters would differ
    model.set_reduce_scatter_unused_params(True)
    # generate() (validation) must gather the root's weights as forward() does
    register_fsdp_forward_method(model, "generate")
    # transformers' generate then keeps the ranks stepping together until all have finished
    model.llm._is_fsdp_managed_module = True
    return model


def clip_grad_norm(params: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
    """Clip the global gradient norm of sharded (or plain) parameters to ``max_norm`` (0: only
    measure it).

    Returns:
        The norm before clipping, the same on every rank.
    """
    params = [p for p in params if p.grad is not None]
    total = torch.nn.utils.get_total_norm([p.grad for p in params])
    total = full_tensor(total)  # the shards' partial norms, reduced over the ranks
    if max_norm > 0:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, total)
    return total
