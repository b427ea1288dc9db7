"""``unheard train``: the paper's recipe on HF Accelerate.

It reads as a story: ``setup`` builds the model for the run's stage, the data, the optimizer
and resumes from the newest checkpoint; ``train`` runs optimizer steps with gradient
accumulation, clipping, NaN guards, logging, validation and checkpoints; ``cleanup`` writes the
summary. One process or many (``accelerate launch``): each rank takes its own batches from the
duration-bucketed sampler, and the ranks train data parallel (``configs/accelerate/ddp.yaml``)
or fully sharded (FSDP2, ``configs/accelerate/fsdp.yaml``; see ``unheard.recipes.fsdp``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, broadcast_object_list, set_seed
from transformers import get_scheduler

from unheard.build import build_speech_llm, load_tokenizer
from unheard.checkpoint import WEIGHTS_NAME, full_tensor, load_trained, trained_state_dict
from unheard.config import ModelConfig
from unheard.data.batch import Batch
from unheard.data.collate import SpeechCollator, TextExample
from unheard.data.dataset import MixingWeights, SpeechDataset, make_loader, set_epoch
from unheard.data.features import feature_extractor_for
from unheard.data.loading import AudioLimits, SkipLog
from unheard.data.manifest import Utterance
from unheard.data.text import SpeechTextDataset
from unheard.device import device_of, select_device, warn_slow_precision
from unheard.model.encoder_cache import attach_encoder_cache
from unheard.model.speech_llm import SpeechLLM
from unheard.plan import out_of_memory_advice, shape_of
from unheard.recipes.fsdp import clip_grad_norm, fsdp_options, hidden_from_accelerate, shard
from unheard.recipes.logging import RunLogger
from unheard.recipes.run_data import RunData, load_run_data
from unheard.recipes.state import (
    gather_trained_tensors,
    load_training_state,
    prune,
    resolve_init,
    save_training_checkpoint,
    step_checkpoints,
    write_json_atomic,
)
from unheard.recipes.train_config import TrainConfig
from unheard.recipes.validate import validate


def stage_model_config(config: TrainConfig) -> ModelConfig:
    """The model config of the run's stage: stage 1 trains no LoRA (layer mix + adapter only)."""
    model = config.model
    if config.run.stage == 1 and model.lora.enabled:
        model = replace(model, lora=replace(model.lora, enabled=False))
    return model


@dataclass
class Run:
    """Everything ``setup`` builds and the loop mutates."""

    config: TrainConfig
    model_config: ModelConfig
    accelerator: Accelerator
    model: Any  # SpeechLLM, wrapped by accelerate (DDP) when distributed, or FSDP-sharded
    optimizer: Any
    scheduler: Any
    dataset: SpeechDataset | SpeechTextDataset
    loader: Any
    sampler: Any
    collator: SpeechCollator
    tokenizer: Any
    dev: list[Utterance]
    skipped: SkipLog
    logger: RunLogger
    step: int = 0  # optimizer steps done
    sampler_consumed: int = 0  # micro-batches of the current epoch consumed (resume position)
    bad_steps: int = 0  # NaN/Inf steps skipped in total
    bad_in_row: int = 0
    best: dict | None = None  # {"step", "dev_loss"} of the best checkpoint
    # the step of the newest checkpoint, the same on every rank (cleanup saves when it is not
    # the last step; asking the file system raced: a rank that saw rank 0's fresh checkpoint
    # skipped the barrier rank 0 waited at)
    saved_step: int | None = None
    text_dev: list[TextExample] = field(default_factory=list)  # text-only dev examples
    unseen_text: dict[str, int] = field(default_factory=dict)  # text records per unseen language
    text_records: dict[str, int] = field(default_factory=dict)  # text records per language (all)
    # sharded with FSDP2: every rank then takes part in each forward, gathering and saving
    fsdp: bool = False
    last_batch: Batch | None = None  # FSDP: the latest non-empty batch (see `_micro_step`)

    @property
    def unwrapped(self) -> SpeechLLM:
        """The bare model (no DDP wrapper; under FSDP the sharded SpeechLLM itself)."""
        return self.accelerator.unwrap_model(self.model)

    @property
    def layer_weights(self) -> torch.Tensor:
        """The layer mix's weights (under FSDP gathered from the shards: every rank asks)."""
        return full_tensor(self.unwrapped.layer_mix.logits.detach()).softmax(-1)

    @property
    def device(self) -> torch.device:
        """Where the model computes, and so where every batch goes."""
        return device_of(self.unwrapped)

    @property
    def checkpoints(self) -> Path:
        """Where step checkpoints go."""
        return Path(self.config.run.output_dir) / "checkpoints"


def setup(config: TrainConfig) -> Run:
    """Build the model, data, optimizer and scheduler; resume from the newest checkpoint."""
    run_cfg, data_cfg, optim_cfg = config.run, config.data, config.optim
    device = select_device(run_cfg.device)  # fails here, by name, on `cuda` without CUDA
    fsdp = fsdp_options()  # asked for by the launch config (configs/accelerate/fsdp.yaml)
    with hidden_from_accelerate():  # FSDP is ours (`shard`): accelerate sets up processes only
        accelerator = Accelerator(
            # on the CPU with several processes accelerate uses gloo (MULTI_CPU)
            cpu=device.type == "cpu",
            mixed_precision=run_cfg.mixed_precision,
            gradient_accumulation_steps=optim_cfg.grad_accumulation,
            # a batch of text examples only leaves the layer mix and adapter without gradients
            kwargs_handlers=[
                DistributedDataParallelKwargs(find_unused_parameters=bool(data_cfg.text))
            ],
        )
    warn_slow_precision(run_cfg.mixed_precision, accelerator.device)
    set_seed(run_cfg.seed)
    out = Path(run_cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    model_config = stage_model_config(config)
    model = build_speech_llm(model_config)
    attach_encoder_cache(model.encoder, run_cfg.encoder_cache, run_cfg.encoder_cache_dtype)
    model.answer_logits_only = True  # the loss reads answer positions only (decoder-only LLMs)
    resume_from = step_checkpoints(out / "checkpoints")
    if run_cfg.init_from and not resume_from:
        _init_from(model, resolve_init(Path(run_cfg.init_from)))
    if run_cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False}
        )

    skipped = SkipLog()
    tokenizer = load_tokenizer(model_config)
    data = load_run_data(data_cfg, tokenizer, run_cfg.seed, skipped)  # speech and/or text
    collator = SpeechCollator(
        tokenizer,
        feature_extractor_for(model.encoder.model.config),
        model.is_encoder_decoder,
        name_source_language=data_cfg.name_source_language,
    )
    loader, sampler = make_loader(
        data.dataset,
        collator,
        replace(data_cfg.sampler, seed=run_cfg.seed),  # one seed for the whole run
        MixingWeights(**data_cfg.mixing),
        data_cfg.num_workers,
        world_size=accelerator.num_processes,
        rank=accelerator.process_index,
        pin_memory=accelerator.device.type == "cuda",
    )

    if fsdp is not None:  # the last change to the model before the optimizer takes its shards
        model = shard(model, fsdp, accelerator.device, run_cfg.mixed_precision)
    params = [p for p in model.parameters() if p.requires_grad]
    # no weight decay on the layer-mix logits, biases and norms (1-D parameters)
    groups = [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": optim_cfg.weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=optim_cfg.lr, betas=optim_cfg.betas)
    scheduler = get_scheduler(
        "constant_with_warmup" if optim_cfg.schedule == "constant" else optim_cfg.schedule,
        optimizer,
        num_warmup_steps=optim_cfg.warmup_steps,
        num_training_steps=run_cfg.max_steps,
    )
    # The scheduler is stepped by us once per optimizer step (accelerate's wrapper would step it
    # once per process), and the loader is ours (the sampler already shards by rank). Under FSDP
    # the model is already sharded: accelerate must not wrap it again in DDP.
    if fsdp is None:
        model, optimizer = accelerator.prepare(model, optimizer)
    else:
        optimizer = accelerator.prepare(optimizer)
    logger = RunLogger(out, accelerator.is_main_process, run_cfg.progress, run_cfg.max_steps)
    run = Run(
        config, model_config, accelerator, model, optimizer, scheduler, data.dataset, loader,
        sampler, collator, tokenizer, data.dev, skipped, logger, text_dev=data.text_dev,
        unseen_text=data.unseen_text,
        text_records=data.text_records, fsdp=fsdp is not None,
    )  # fmt: skip
    if resume_from:
        _resume(run, resume_from[-1][1])
    else:
        set_epoch(data.dataset, sampler, 0)
    logger.start(run.step, _describe(run, data))
    return run


def train(config: TrainConfig) -> dict[str, Any]:
    """Run the whole recipe; returns the summary (also written to ``summary.json``)."""
    run = setup(config)
    run_cfg = config.run
    window = _Window()
    while run.step < run_cfg.max_steps:
        for batch in run.loader:
            run.sampler_consumed += 1
            _micro_step(run, batch, window)
            if not run.accelerator.sync_gradients:
                continue
            _optimizer_step(run, window)
            if run.step % run_cfg.log_every == 0 or run.step == run_cfg.max_steps:
                run.logger.log(run.step, window.summary(run), run.layer_weights)
                window = _Window()
            if run_cfg.validate_every and run.step % run_cfg.validate_every == 0:
                _validate_and_keep_best(run)
            if run.step % run_cfg.save_every == 0:
                _save(run)
            if run.step >= run_cfg.max_steps:
                break
        else:  # epoch finished: next epoch, from its first batch
            set_epoch(run.dataset, run.sampler, run.sampler.epoch + 1)
            run.sampler_consumed = 0
    return cleanup(run)


def cleanup(run: Run) -> dict[str, Any]:
    """Final validation and checkpoint, the summary, and closing the logs."""
    validated = run.config.run.validate_every and run.step % run.config.run.validate_every == 0
    if (run.dev or run.text_dev) and not validated:  # the final model is always validated once
        _validate_and_keep_best(run)
    if run.saved_step != run.step:
        _save(run)
    summary = {
        "steps": run.step,
        "bad_steps": run.bad_steps,
        "skipped_records": run.skipped.count,
        "skipped_by_reason": run.skipped.by_reason(),
        "best": run.best,
        "final_checkpoint": str(run.checkpoints / f"step-{run.step}"),
        "init_from": run.config.run.init_from,  # the earlier stage it started from (or None)
        "layer_weights": [round(w, 4) for w in run.layer_weights.tolist()],
        "unseen_languages": list(run.config.data.unseen_languages),
        "unseen_text": run.unseen_text,  # text-only records in unseen languages (allowed)
        "text_records": run.text_records,  # text-only records per language, seen ones included
    }
    cache = run.unwrapped.encoder.cache
    if cache is not None:
        summary["encoder_cache"] = {
            **asdict(cache.stats),
            "hit_rate": round(cache.stats.hit_rate, 4),
        }
    if run.accelerator.is_main_process:
        write_json_atomic(Path(run.config.run.output_dir) / "summary.json", summary)
    run.logger.close()
    # every rank tears the process group down together: a rank that destroyed it while another
    # was still writing the summary may die at exit (seen once: SIGABRT in rank 1 under gloo)
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return summary


# --- the steps -----------------------------------------------------------------------------


class _Window:
    """Sums over the optimizer steps since the last log line."""

    def __init__(self) -> None:
        self.loss_sum, self.micro, self.steps, self.bad_micro = 0.0, 0, 0, 0
        self.audio_s, self.tokens, self.grad_norm = 0.0, 0, 0.0
        self.started = time.perf_counter()

    def summary(self, run: Run) -> dict[str, float]:
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


def _micro_step(run: Run, batch: Batch, window: _Window) -> None:
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
        run.unwrapped, run.model_config, shape_of(batch), where, limit, run.device
    )


def _optimizer_step(run: Run, window: _Window) -> None:
    max_bad = run.config.run.max_bad_steps
    if window.bad_micro:
        run.optimizer.zero_grad(set_to_none=True)
        run.bad_steps += 1
        run.bad_in_row += 1
        window.bad_micro = 0
        if run.bad_in_row >= max_bad:
            raise RuntimeError(
                f"{run.bad_in_row} optimizer steps in a row had a NaN/Inf loss (step {run.step}); "
                "lower optim.lr, use bf16 rather than fp16, or check the data"
            )
        return
    params = [p for p in run.model.parameters() if p.requires_grad]
    clip = run.config.optim.grad_clip
    if run.fsdp:  # over the shards: each rank holds a piece of every gradient
        norm = clip_grad_norm(params, clip)
    elif clip > 0:
        norm = run.accelerator.clip_grad_norm_(params, clip)
    else:
        norm = torch.norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.step += 1
    run.bad_in_row = 0
    window.steps += 1
    window.grad_norm += float(norm)
    run.logger.advance()


def _validate_and_keep_best(run: Run) -> None:
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
            run.best = {"step": run.step, "dev_loss": metrics["dev_loss"]}
    # rank 0's verdict on every rank (a collective, so it also waits for validation): all ranks
    # must agree to save, as `_save` ends at a barrier; one process gets its list back as is
    run.best = broadcast_object_list([run.best])[0]
    if run.best is not None and run.best["step"] == run.step:
        _save(run)  # the best checkpoint must exist on disk
        if run.accelerator.is_main_process:
            write_json_atomic(run.checkpoints / "best.json", {**run.best, **(metrics or {})})


def _save(run: Run) -> None:
    directory = run.checkpoints / f"step-{run.step}"
    # every rank gathers (the FSDP shards; as they are otherwise), rank 0 writes
    trained = gather_trained_tensors(
        run.unwrapped, run.optimizer, keep=run.accelerator.is_main_process
    )
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
            directory, trained, run.model_config, run.scheduler, state,
            extra={
                "step": run.step, "stage": run.config.run.stage,
                # decoding names the spoken language in its prompts as training did
                "name_source_language": run.config.data.name_source_language,
            },
        )  # fmt: skip
        best = {run.checkpoints / f"step-{run.best['step']}"} if run.best else set()
        prune(run.checkpoints, run.config.run.keep_last, protect=best)
    run.saved_step = run.step
    run.accelerator.wait_for_everyone()


def _resume(run: Run, directory: Path) -> None:
    load_trained(run.unwrapped, directory / WEIGHTS_NAME)
    state = load_training_state(directory, run.optimizer, run.scheduler)
    run.step = run.saved_step = state["step"]
    run.bad_steps, run.bad_in_row = state["bad_steps"], state["bad_in_row"]
    run.best = state["best"]
    run.sampler.load_state_dict(state["sampler"])
    run.dataset.epoch = run.sampler.epoch
    run.sampler_consumed = run.sampler.batches_done
    run.logger.info(f"resumed from {directory} at step {run.step}")


def _init_from(model: SpeechLLM, directory: Path) -> None:
    # stage 2 from stage 1: the stage-1 checkpoint holds the layer mix and adapter; LoRA is new
    from safetensors.torch import load_file

    tensors = load_file(str(directory / WEIGHTS_NAME))
    own = trained_state_dict(model)
    unknown = sorted(set(tensors) - set(own))
    if unknown:
        raise ValueError(f"{directory}: parameters not in this model: {unknown[:5]}")
    with torch.no_grad():
        for name, value in tensors.items():
            own[name].copy_(value)


def _describe(run: Run, data: RunData) -> str:
    model, data_cfg = run.unwrapped, run.config.data
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    text = (
        f", {data.text_examples} text examples ({', '.join(data_cfg.text_tasks)})"
        if data.text_examples
        else ""
    )
    return (
        f"stage {run.config.run.stage}: {data.utterances} utterances, {data.speech_examples} "
        f"examples ({', '.join(data_cfg.tasks)}){text}, {len(run.sampler)} batches/epoch/rank, "
        f"{run.accelerator.num_processes} process(es){_sharding(model) if run.fsdp else ''}; "
        f"trained {trained:,} of {total:,} "
        f"parameters ({100 * trained / total:.2f}%); unseen {list(data_cfg.unseen_languages)}, "
        f"unseen-language text (allowed, no audio): {data.unseen_text}"
    )


def _sharding(model: SpeechLLM) -> str:
    from torch.distributed.fsdp import FSDPModule

    units = sum(isinstance(m, FSDPModule) for m in model.modules())
    encoder = "sharded with the root" if model.encoder.trainable else "whole on each rank"
    return f" (FSDP2: {units} units, the root included; encoder {encoder})"
