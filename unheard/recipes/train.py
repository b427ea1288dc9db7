"""``unheard train``: the paper's recipe on HF Accelerate.

It reads as a story: ``setup`` builds the model for the run's stage, the data, the optimizer
and resumes from the newest checkpoint; ``train`` runs optimizer steps with gradient
accumulation, clipping, NaN guards, logging, validation and checkpoints; ``cleanup`` writes the
summary. One process or many (``accelerate launch``): each rank takes its own batches from the
duration-bucketed sampler, and the ranks train data parallel (``configs/accelerate/ddp.yaml``)
or fully sharded (FSDP2, ``configs/accelerate/fsdp.yaml``; see ``unheard.recipes.fsdp``).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from transformers import get_scheduler

from unheard.build import build_speech_llm, load_tokenizer
from unheard.config import ModelConfig
from unheard.data.collate import SpeechCollator
from unheard.data.dataset import MixingWeights, make_loader, set_epoch
from unheard.data.features import feature_extractor_for
from unheard.data.loading import SkipLog
from unheard.device import resolve_precision, select_device, warn_slow_precision
from unheard.encoder_cache import EncoderCacheOptions, cache_encoder, encoder_cache_of
from unheard.files import write_json_atomic
from unheard.model.speech_llm import SpeechLLM
from unheard.recipes.fsdp import fsdp_options, hidden_from_accelerate, shard
from unheard.recipes.logging import RunLogger
from unheard.recipes.run import Run
from unheard.recipes.run_data import RunData, load_run_data
from unheard.recipes.state import (
    resolve_init,
    step_checkpoints,
)
from unheard.recipes.steps import (
    Window,
    init_from,
    micro_step,
    optimizer_step,
    resume,
    save,
    validate_and_keep_best,
)
from unheard.recipes.trackers import project_configuration, require_trackers, start_trackers
from unheard.recipes.train_config import TrainConfig


def stage_model_config(config: TrainConfig) -> ModelConfig:
    """The model config of the run's stage: stage 1 trains no LoRA (layer mix + adapter only)."""
    model = config.model
    if config.run.stage == 1 and model.lora.enabled:
        model = replace(model, lora=replace(model.lora, enabled=False))
    return model


def setup(config: TrainConfig) -> Run:
    """Build the model, data, optimizer and scheduler; resume from the newest checkpoint."""
    run_cfg, data_cfg, optim_cfg = config.run, config.data, config.optim
    device = select_device(run_cfg.device)  # fails here, by name, on `cuda` without CUDA
    precision = resolve_precision(run_cfg.mixed_precision, device)  # "auto": by the device
    require_trackers(run_cfg.log_with)  # and here on a tracker whose package is missing
    fsdp = fsdp_options()  # asked for by the launch config (configs/accelerate/fsdp.yaml)
    with hidden_from_accelerate():  # FSDP is ours (`shard`): accelerate sets up processes only
        accelerator = Accelerator(
            # on the CPU with several processes accelerate uses gloo (MULTI_CPU)
            cpu=device.type == "cpu",
            mixed_precision=precision,
            gradient_accumulation_steps=optim_cfg.grad_accumulation,
            # a batch of text examples only leaves the layer mix and adapter without gradients
            kwargs_handlers=[
                DistributedDataParallelKwargs(find_unused_parameters=bool(data_cfg.text))
            ],
            log_with=list(run_cfg.log_with) or None,  # [] would warn "none installed"
            project_config=project_configuration(run_cfg),
        )
    warn_slow_precision(precision, accelerator.device)
    set_seed(run_cfg.seed)
    out = Path(run_cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    model_config = stage_model_config(config)
    model = build_speech_llm(model_config)
    cache_encoder(
        model, EncoderCacheOptions.from_setting(run_cfg.encoder_cache, run_cfg.encoder_cache_dtype)
    )
    model.answer_logits_only = True  # the loss reads answer positions only (decoder-only LLMs)
    if run_cfg.pack_sequences and model.is_encoder_decoder:
        raise ValueError(
            f"run.pack_sequences packs a decoder-only LLM's input; {model_config.llm} is an "
            "encoder-decoder LLM: set run.pack_sequences=false"
        )
    model.pack_sequences = run_cfg.pack_sequences
    if run_cfg.compile:
        model.compile_llm()
    resume_from = step_checkpoints(out / "checkpoints")
    if run_cfg.init_from and not resume_from:
        init_from(model, resolve_init(Path(run_cfg.init_from)))
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
        config.sampler,  # data.sampler.seed if set, else run.seed
        MixingWeights(**data_cfg.mixing),
        data_cfg.num_workers,
        world_size=accelerator.num_processes,
        rank=accelerator.process_index,
        pin_memory=accelerator.device.type == "cuda",
    )

    if fsdp is not None:  # the last change to the model before the optimizer takes its shards
        model = shard(model, fsdp, accelerator.device, precision)
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
    start_trackers(accelerator, config)
    logger = RunLogger(out, accelerator, run_cfg.progress, run_cfg.max_steps)
    run = Run(
        config, model_config, accelerator, model, optimizer, scheduler, data.dataset, loader,
        sampler, collator, tokenizer, data.dev, skipped, logger, text_dev=data.text_dev,
        unseen_text=data.unseen_text,
        text_records=data.text_records, seen_languages=data.seen_languages,
        fsdp=fsdp is not None,
    )  # fmt: skip
    if resume_from:
        resume(run, resume_from[-1][1])
    else:
        set_epoch(data.dataset, sampler, 0)
    logger.start(run.step, _describe(run, data))
    return run


def train(config: TrainConfig) -> dict[str, Any]:
    """Run the whole recipe; returns the summary (also written to ``summary.json``)."""
    run = setup(config)
    run_cfg = config.run
    window = Window()
    while run.step < run_cfg.max_steps:
        for batch in run.loader:
            run.sampler_consumed += 1
            micro_step(run, batch, window)
            if not run.accelerator.sync_gradients:
                continue
            optimizer_step(run, window)
            if run.step % run_cfg.log_every == 0 or run.step == run_cfg.max_steps:
                run.logger.log(run.step, window.summary(run), run.layer_weights)
                window = Window()
            if run_cfg.validate_every and run.step % run_cfg.validate_every == 0:
                validate_and_keep_best(run)
            if run.step % run_cfg.save_every == 0:
                save(run)
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
        validate_and_keep_best(run)
    if run.saved_step != run.step:
        save(run)
    summary = {
        "steps": run.step,
        "bad_steps": run.bad_steps,
        "skipped_records": run.skipped.count,
        "skipped_by_reason": run.skipped.by_reason(),
        "best": run.best,
        "final_checkpoint": str(run.checkpoints / f"step-{run.step}"),
        "init_from": run.config.run.init_from,  # the earlier stage it started from (or None)
        "layer_weights": [round(w, 4) for w in run.layer_weights.tolist()],
        "seen_languages": list(run.seen_languages),  # paired audio in training
        "unseen_languages": list(run.config.data.unseen_languages),
        "unseen_text": run.unseen_text,  # text-only records in unseen languages (allowed)
        "text_records": run.text_records,  # text-only records per language, seen ones included
    }
    cache = encoder_cache_of(run.unwrapped)
    if cache is not None:
        summary["encoder_cache"] = {
            **asdict(cache.stats),
            "hit_rate": round(cache.stats.hit_rate, 4),
        }
    if run.accelerator.is_main_process:
        write_json_atomic(Path(run.config.run.output_dir) / "summary.json", summary, indent=2)
    run.logger.close()
    # every rank tears the process group down together: a rank that destroyed it while another
    # was still writing the summary may die at exit (seen once: SIGABRT in rank 1 under gloo)
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return summary


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
        f"{run.accelerator.num_processes} process(es){_sharding(model) if run.fsdp else ''}"
        f"{_speedups(model, run.accelerator.mixed_precision)}; "
        f"trained {trained:,} of {total:,} "
        f"parameters ({100 * trained / total:.2f}%); unseen {list(data_cfg.unseen_languages)}, "
        f"unseen-language text (allowed, no audio): {data.unseen_text}"
    )


def _speedups(model: SpeechLLM, precision: str) -> str:
    """The optional ways the step runs (`RunConfig.pack_sequences`, `RunConfig.compile`, the
    mixed precision ``run.mixed_precision`` resolved to)."""
    ways = [
        *([f"{precision} autocast"] if precision != "no" else []),
        *(["packed sequences"] if model.pack_sequences else []),
        *(["compiled LLM"] if model.compiled else []),
    ]
    return f" ({', '.join(ways)})" if ways else ""


def _sharding(model: SpeechLLM) -> str:
    from torch.distributed.fsdp import FSDPModule

    units = sum(isinstance(m, FSDPModule) for m in model.modules())
    encoder = "sharded with the root" if model.encoder.trainable else "whole on each rank"
    return f" (FSDP2: {units} units, the root included; encoder {encoder})"
