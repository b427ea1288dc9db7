"""The steps of the training recipe (`unheard.recipes.train`): a micro-step (forward and
backward on one batch, on the model's device), an optimizer step (clipping, NaN guard,
schedule), validation that keeps the best checkpoint, and saving and resuming checkpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
from accelerate.utils import broadcast_object_list, gather_object

from unheard.checkpoint import WEIGHTS_NAME, load_trained, trained_state_dict
from unheard.data.batch import Batch
from unheard.data.loading import AudioLimits
from unheard.files import write_json_atomic
from unheard.model.speech_llm import SpeechLLM
from unheard.plan import out_of_memory_advice, shape_of
from unheard.recipes.fsdp import clip_grad_norm
from unheard.recipes.run import Run
from unheard.recipes.state import (
    capture_rng,
    gather_trained_tensors,
    load_training_state,
    prune,
    save_training_checkpoint,
)
from unheard.recipes.validate import validate


class Window:
    """Sums over the optimizer steps since the last log line."""

    def __init__(self) -> None:
        self.loss_sum, self.micro, self.steps, self.bad_micro = 0.0, 0, 0, 0
        self.audio_s, self.tokens, self.grad_norm = 0.0, 0, 0.0
        self.started = time.perf_counter()

    def summary(self, run: Run) -> dict[str, float]:
        """The window's log line, summed over the ranks."""
        seconds = time.perf_counter() - self.started
        # on the run's device: NCCL (multi-GPU) reduces no CPU tensor (gloo reduces both)
        sums = [self.loss_sum, self.micro, self.audio_s, self.tokens]
        reduced = run.accelerator.reduce(
            torch.tensor(sums, dtype=torch.float64, device=run.accelerator.device), "sum"
        )
        loss_sum, micro, audio_s, tokens = reduced.tolist()
        return {
            "loss": loss_sum / max(micro, 1),
            "lr": run.scheduler.get_last_lr()[0],
            "grad_norm": self.grad_norm / max(self.steps, 1),
            "audio_seconds_per_s": audio_s / seconds,
            "tokens_per_s": tokens / seconds,
            "bad_steps": run.bad_steps,
            "skipped_records": run.skipped.count,
        }


def micro_step(run: Run, batch: Batch, window: Window) -> None:
    """Forward and backward on one batch, moved to the model's device; a NaN/Inf loss is counted
    in ``window`` instead (on every rank alike).

    Raises:
        RuntimeError: on running out of memory, naming the batch, the limit and `plan`'s estimate.
    """
    run.skipped.extend(batch.skipped)
    batch = batch.to(run.device, non_blocking=True)
    smoothing = run.config.optim.label_smoothing
    with run.accelerator.accumulate(run.model):
        try:
            if batch.empty and run.fsdp:
                # every item was bad; FSDP ranks must all run the same units' forward and
                # backward (their all-gathers and reduce-scatters pair up): a zero-weighted pass
                # over this rank's previous batch
                if run.last_batch is None:
                    raise RuntimeError(
                        "every record of this rank's first batch was bad; under FSDP each rank "
                        "needs a batch to run with the others: check the data (unheard data check)"
                    )
                loss = run.model(**run.last_batch, label_smoothing=smoothing).loss * 0.0
            elif batch.empty:  # every item was bad: a zero loss keeps DDP ranks in step
                loss = sum(p.sum() for p in run.model.parameters() if p.requires_grad) * 0.0
            else:
                loss = run.model(**batch, label_smoothing=smoothing).loss
                run.last_batch = batch if run.fsdp else None
            finite = run.accelerator.reduce(torch.isfinite(loss.detach()).float(), "min")
            if finite.item() < 1:  # skipped on every rank alike, so no rank waits for the others
                window.bad_micro += 1
                return
            run.accelerator.backward(loss)
        except torch.OutOfMemoryError as e:
            raise RuntimeError(_out_of_memory(run, batch)) from e
    if not batch.empty:
        window.loss_sum += loss.item()
        window.micro += 1
        window.audio_s += batch.audio_seconds
        window.tokens += batch.answer_tokens


def _out_of_memory(run: Run, batch: Batch) -> str:
    limit = f"data.sampler.max_duration_s={run.config.data.sampler.max_duration_s:g}"
    where = f"training step {run.step + 1}"
    return out_of_memory_advice(
        run.unwrapped, run.model_config, shape_of(batch), where, limit, run.device,
        strategy="fsdp" if run.fsdp else "ddp", devices=run.accelerator.num_processes,
    )  # fmt: skip


class OptimizerState(Protocol):
    """What the optimizer-step parts read and count: a training run's `Run`, or the text
    pretraining's (`unheard.recipes.pretrain_text`). Parts, not a base class: each recipe keeps
    its own state and loop and calls these."""

    optimizer: Any
    scheduler: Any
    step: int  # optimizer steps done
    bad_steps: int  # NaN/Inf steps skipped in total
    bad_in_row: int  # ... since the last good one


def skip_bad_step(state: OptimizerState, max_bad: int, lr_option: str = "optim.lr") -> None:
    """Drop the gradients of a step that saw a NaN/Inf loss and count it.

    Args:
        state: the run (its optimizer and counters).
        max_bad: how many such steps in a row stop the run.
        lr_option: the recipe's learning-rate option, named in the error.

    Raises:
        RuntimeError: after ``max_bad`` such steps in a row.
    """
    state.optimizer.zero_grad(set_to_none=True)
    state.bad_steps += 1
    state.bad_in_row += 1
    if state.bad_in_row >= max_bad:
        raise RuntimeError(
            f"{state.bad_in_row} optimizer steps in a row had a NaN/Inf loss (step {state.step}); "
            f"lower {lr_option}, use bf16 rather than fp16, or check the data"
        )


def apply_step(
    state: OptimizerState,
    params: list[torch.nn.Parameter],
    clip: float,
    clip_grad: Callable[[list[torch.nn.Parameter], float], torch.Tensor] = clip_grad_norm,
) -> float:
    """Clip the gradients, step the optimizer and the schedule, clear the gradients and count
    the step.

    Args:
        state: the run (its optimizer, scheduler and counters).
        params: the trained parameters.
        clip: the largest gradient norm (0: measure it only).
        clip_grad: clips ``params`` to a norm and returns the norm before clipping: plain or
            FSDP-sharded parameters by default, accelerate's ``clip_grad_norm_`` under DDP or
            mixed precision (it unscales fp16 gradients first).

    Returns:
        The gradient norm before clipping.
    """
    norm = clip_grad(params, clip) if clip > 0 else clip_grad_norm(params, 0.0)
    state.optimizer.step()
    state.scheduler.step()
    state.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    state.bad_in_row = 0
    return float(norm)


def optimizer_step(run: Run, window: Window) -> None:
    """Clip, step the optimizer and the schedule, or drop the gradients of a step that saw a
    NaN/Inf loss.

    Raises:
        RuntimeError: after ``run.max_bad_steps`` such steps in a row.
    """
    if window.bad_micro:
        window.bad_micro = 0
        skip_bad_step(run, run.config.run.max_bad_steps)
        return
    params = [p for p in run.model.parameters() if p.requires_grad]
    # under FSDP over the shards (each rank holds a piece of every gradient)
    clip_grad = clip_grad_norm if run.fsdp else run.accelerator.clip_grad_norm_
    norm = apply_step(run, params, run.config.optim.grad_clip, clip_grad)
    window.steps += 1
    window.grad_norm += norm
    run.logger.advance()


def validate_and_keep_best(run: Run) -> None:
    """Validate on the dev data (rank 0, every rank under FSDP) and save the checkpoint when it
    is the best so far."""
    if not (run.dev or run.text_dev):
        return
    metrics = None
    # rank 0 validates; under FSDP every rank runs the same validation with it (each forward
    # gathers the weights from all ranks), and rank 0's metrics count
    if run.accelerator.is_main_process or run.fsdp:
        # validation must not move the training RNG, or a resumed run would diverge
        with torch.random.fork_rng(devices=[]):
            metrics = validate(
                run.unwrapped, run.collator, run.tokenizer, run.dev, run.config.data.tasks,
                run.config.run.validate_utterances,
                AudioLimits(max_duration_s=run.config.data.max_utterance_s), text=run.text_dev,
            )  # fmt: skip
        if run.fsdp:
            run.model.reshard()  # the root keeps its gathered weights after a forward
    if run.accelerator.is_main_process:
        run.logger.log_validation(run.step, metrics)
        if run.best is None or metrics["dev_loss"] < run.best["dev_loss"]:
            run.best = {"step": run.step, **metrics}  # what best.json says of it
    # rank 0's verdict on every rank (a collective, so it also waits for validation): all ranks
    # must agree to save, as `save` ends at a barrier; one process gets its list back as is
    run.best = broadcast_object_list([run.best])[0]
    if run.best is not None and run.best["step"] == run.step:
        save(run)  # the best checkpoint must exist on disk; `save` writes best.json


def save(run: Run) -> None:
    """Write ``checkpoints/step-N`` (gathered on every rank, written by rank 0) and prune old
    ones."""
    directory = run.checkpoints / f"step-{run.step}"
    # every rank gathers (the FSDP shards; as they are otherwise), rank 0 writes
    trained = gather_trained_tensors(
        run.unwrapped, run.optimizer, keep=run.accelerator.is_main_process
    )
    # every rank's random state (its dropout and augmentation drew its own numbers), in rank order
    rng = gather_object([capture_rng()])
    if trained is not None and not directory.exists():
        state = {
            "step": run.step,
            "sampler": run.sampler.state_dict(batches_done=run.sampler_consumed),
            "bad_steps": run.bad_steps,
            "bad_in_row": run.bad_in_row,
            "best": run.best,
            "skipped": run.skipped.count,
        }
        save_training_checkpoint(
            directory, trained, run.model_config, run.scheduler, state, rng=rng,
            extra={
                "step": run.step, "stage": run.config.run.stage,
                # decoding names the spoken language in its prompts as training did
                "name_source_language": run.config.data.name_source_language,
                # what `unheard export` writes into the model card
                "seen_languages": list(run.seen_languages),
                "unseen_languages": list(run.config.data.unseen_languages),
            },
        )  # fmt: skip
        if run.best is not None and run.best["step"] == run.step:
            # before pruning the old best: a kill in between leaves a best.json naming a
            # checkpoint that exists (and `resume` rewrites it from the run state anyway)
            write_best(run)
        best = {run.checkpoints / f"step-{run.best['step']}"} if run.best else set()
        prune(run.checkpoints, run.config.run.keep_last, protect=best)
    run.saved_step = run.step
    run.accelerator.wait_for_everyone()


def write_best(run: Run) -> None:
    """Write ``checkpoints/best.json``: the best checkpoint's step and its dev metrics."""
    write_json_atomic(run.checkpoints / "best.json", run.best, indent=2)


def resume(run: Run, directory: Path) -> None:
    """Restore the trained weights, optimizer, schedule, RNG and sampler position."""
    load_trained(run.unwrapped, directory / WEIGHTS_NAME)
    state = load_training_state(
        directory, run.optimizer, run.scheduler, rank=run.accelerator.process_index
    )
    run.step = run.saved_step = state["step"]
    run.bad_steps, run.bad_in_row = state["bad_steps"], state["bad_in_row"]
    run.best = state["best"]
    if run.best is not None and run.accelerator.is_main_process:
        # a run killed between a new best checkpoint and best.json left it naming the old one
        # (perhaps pruned since): the checkpoint's own state says which is best
        written = run.checkpoints / "best.json"
        if not written.is_file() or json.loads(written.read_text())["step"] != run.best["step"]:
            write_best(run)
    run.sampler.load_state_dict(state["sampler"])
    run.dataset.epoch = run.sampler.epoch
    run.sampler_consumed = run.sampler.batches_done
    run.logger.info(f"resumed from {directory} at step {run.step}")


def init_from(model: SpeechLLM, directory: Path) -> None:
    """Start from an earlier stage's checkpoint (``run.init_from``).

    Args:
        model: the run's model, not yet sharded.
        directory: the checkpoint (`resolve_init`).

    Raises:
        ValueError: if the checkpoint holds a parameter this model does not train, or one of
            another shape (naming it and both shapes); nothing is copied then.
    """
    # stage 2 from stage 1: the stage-1 checkpoint holds the layer mix and adapter; LoRA is new
    from safetensors.torch import load_file

    tensors = load_file(str(directory / WEIGHTS_NAME))
    own = trained_state_dict(model)
    unknown = sorted(set(tensors) - set(own))
    if unknown:
        raise ValueError(f"{directory}: parameters not in this model: {unknown[:5]}")
    # copy_ broadcasts: a (1,) layer mix from a shallower encoder would fill every layer's weight
    for name, value in tensors.items():
        if value.shape != own[name].shape:
            raise ValueError(
                f"run.init_from {directory}: {name} has shape {tuple(value.shape)}, this model's "
                f"has {tuple(own[name].shape)} (another encoder, LLM or adapter setting?)"
            )
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(value)
