"""The training run's config: model, data, optimisation and run sections, from YAML + overrides."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from unheard.config import DTYPES, ModelConfig, apply_overrides, from_dict, load_yaml
from unheard.data.augment import Augmentation
from unheard.data.prompts import TASKS, TEXT_TASKS
from unheard.data.sampler import SamplerOptions

STAGES = (1, 2)
# short override keys: DESIGN's command-line contract names `unheard train CONFIG output_dir=DIR`
OVERRIDE_ALIASES = {"output_dir": "run.output_dir"}
PRECISIONS = ("no", "bf16", "fp16", "auto")
SCHEDULES = ("cosine", "linear", "constant")
# the experiment trackers accelerate drives (its LoggerType, less "all"; a test keeps them equal)
TRACKERS = (
    "tensorboard", "wandb", "mlflow", "aim", "comet_ml", "clearml", "dvclive", "swanlab", "trackio",
)  # fmt: skip


@dataclass(frozen=True)
class DataConfig:
    """What to train and validate on."""

    train: tuple[str, ...] = ()  # training manifests (none: a text-only run, see data.text)
    dev: tuple[str, ...] = ()  # validation manifests
    test: tuple[str, ...] = ()  # held-out manifests: only read to check that no text holds them
    # speech tasks (`TASKS`): stage 1 of the paper is ("asr",); "phon" (audio → phones) is the
    # phoneme bridge's first half, its second the text task "p2g"
    tasks: tuple[str, ...] = ("asr", "st")
    unseen_languages: tuple[str, ...] = ()  # zero-resource languages: paired audio refused
    languages: tuple[str, ...] | None = None  # keep only these spoken languages (None: all)
    # relative sampling weights, e.g. {"task": {"st": 2.0}, "corpus": {"fleurs": 0.5}}
    mixing: dict[str, dict[str, float]] = field(default_factory=dict)
    sampler: SamplerOptions = field(default_factory=SamplerOptions)
    max_utterance_s: float = 30.0  # longer clips are skipped (Whisper's window is 30 s)
    sample_prompts: bool = True  # paraphrase pools in training; the fixed prompt at test
    name_source_language: bool = False  # put the spoken language's name into prompts
    num_workers: int = 0  # DataLoader workers
    speed_factors: tuple[float, ...] = ()  # speed perturbation, e.g. [0.9, 1.0, 1.1]
    noise_snr_db: tuple[float, float] | None = None  # additive white noise SNR range
    # text-only examples (`unheard.data.text`): parallel text files, e.g. OUT/text/*_train.jsonl
    text: tuple[str, ...] = ()  # training text (any language, unseen ones included)
    text_dev: tuple[str, ...] = ()  # validation text (dev loss, translate BLEU, denoise WER)
    # text → English; text → itself; phones → text (p2g, `TEXT_TASKS`)
    text_tasks: tuple[str, ...] = ("translate", "denoise")
    text_weight: float = 0.3  # text's share of an epoch's draws when there is speech too
    text_languages: tuple[str, ...] | None = None  # keep only text in these (None: all)
    text_noise: float = 0.15  # share of words dropped from a denoising input
    text_seconds_per_token: float = 0.08  # a text token's cost in the sampler (one 80 ms frame)

    def __post_init__(self) -> None:
        if not self.train and not self.text:
            raise ValueError(
                "data.train (manifests) or data.text (text files) must name a file; both are empty"
            )
        bad_text = set(self.text_tasks) - set(TEXT_TASKS)
        if self.text and (bad_text or not self.text_tasks):
            raise ValueError(
                f"data.text_tasks must be a non-empty subset of {', '.join(TEXT_TASKS)}; got "
                f"{list(self.text_tasks)}"
            )
        for name in ("text_weight", "text_noise"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.text_seconds_per_token <= 0:
            raise ValueError(
                f"data.text_seconds_per_token must be > 0, got {self.text_seconds_per_token}"
            )
        bad = set(self.tasks) - set(TASKS)
        if bad or not self.tasks:
            raise ValueError(
                f"data.tasks must be a non-empty subset of {', '.join(TASKS)}; got "
                f"{list(self.tasks)}"
            )
        if unknown := sorted(set(self.mixing) - {"corpus", "task", "language"}):
            raise ValueError(f"data.mixing keys must be corpus, task or language; got {unknown}")
        if self.max_utterance_s <= 0:
            raise ValueError(f"data.max_utterance_s must be > 0, got {self.max_utterance_s}")
        if self.num_workers < 0:
            raise ValueError(
                f"data.num_workers must be >= 0 (0: no workers), got {self.num_workers}"
            )

    @property
    def augmentation(self) -> Augmentation:
        """The augmentation these settings ask for."""
        return Augmentation(speed_factors=self.speed_factors, noise_snr_db=self.noise_snr_db)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with warmup and decay."""

    lr: float = 1e-4  # peak learning rate
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 500  # linear warmup from 0
    schedule: str = "cosine"  # after warmup: cosine or linear decay to 0, or constant
    grad_clip: float = 1.0  # max global gradient norm (0: off)
    grad_accumulation: int = 1  # micro-batches per optimizer step
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"optim.lr must be positive, got {self.lr}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"optim.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.grad_accumulation < 1:
            raise ValueError(f"optim.grad_accumulation must be >= 1, got {self.grad_accumulation}")
        if self.warmup_steps < 0:
            raise ValueError(f"optim.warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError(
                f"optim.weight_decay and optim.grad_clip must be >= 0 (grad_clip 0: off), got "
                f"{self.weight_decay} and {self.grad_clip}"
            )
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"optim.label_smoothing must be in [0, 1), got {self.label_smoothing}")


@dataclass(frozen=True)
class RunConfig:
    """Length, precision, checkpoints, validation and logging of the run."""

    output_dir: str = "runs/train"
    stage: int = 2  # 1: layer mix + adapter on ASR, LoRA off; 2: + LoRA on ST and ASR
    init_from: str | None = None  # stage 2: a stage-1 checkpoint to start from (None: fresh)
    max_steps: int = 10000  # optimizer steps
    seed: int = 0
    # auto: CUDA, then another accelerator, then the CPU; or cpu, cuda, xpu, mps, ... (no index:
    # accelerate gives each process its own GPU; choose GPUs with CUDA_VISIBLE_DEVICES)
    device: str = "auto"
    # no, bf16 or fp16 (accelerate autocast), or auto: bf16 where the device computes it natively
    # (CUDA with bf16, a CPU with AVX512-BF16 or AMX), else no (`unheard.device.resolve_precision`)
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False  # recompute LLM activations in backward
    # decoder-only LLMs: train each batch's items back to back in one row, without padding
    # (`SpeechLLM.pack_sequences`): the same loss on fewer tokens. Faster on a CPU
    # (benchmarks/speedups.py); on a GPU its one-row attention mask keeps SDPA off its fused
    # kernels, so measure first
    pack_sequences: bool = False
    # run the LLM's training forward through torch.compile (inductor: a C++ compiler on a CPU,
    # Triton on a GPU); the first steps compile (minutes), then every shape reuses the graph
    compile: bool = False
    save_every: int = 1000  # steps between checkpoints
    keep_last: int = 3  # step checkpoints kept (the best one is kept apart)
    validate_every: int = 1000  # steps between validations (0: only at the end)
    validate_utterances: int = 50  # dev utterances per language decoded for BLEU/WER
    log_every: int = 10  # steps between log lines
    max_bad_steps: int = 10  # NaN/Inf losses in a row that stop the run
    progress: bool = True  # a progress bar with ETA
    # experiment trackers (accelerate's) fed the scalars of log.jsonl and the config as
    # hyper-parameters: tensorboard (in output_dir/tensorboard), wandb, mlflow, ...; [] for none
    log_with: tuple[str, ...] = ("tensorboard",)
    project_name: str = "unheard"  # the trackers' project: wandb project, mlflow experiment, ...
    # frozen-encoder outputs computed once: "" off, "memory", or a directory shared across runs
    encoder_cache: str = ""
    encoder_cache_dtype: str = "float16"  # float16, bfloat16 or float32 (exact)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"run.stage must be 1 or 2, got {self.stage}")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(
                f"run.mixed_precision must be one of {PRECISIONS}, got {self.mixed_precision!r}"
            )
        # log_every=0 divided by zero at the first step; "only at the end" is validate_every=0's
        # meaning, but a run that logs nothing until it ends is rarely meant: refuse it here
        for name in ("max_steps", "save_every", "keep_last", "log_every", "max_bad_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"run.{name} must be >= 1, got {getattr(self, name)}")
        if self.validate_every < 0:
            raise ValueError(
                f"run.validate_every must be >= 0 (0: only at the end), got {self.validate_every}"
            )
        if self.validate_utterances < 1:
            raise ValueError(
                f"run.validate_utterances must be >= 1, got {self.validate_utterances}"
            )
        if not 0 <= self.seed < 2**32:  # numpy's seed range (accelerate's set_seed seeds it)
            raise ValueError(f"run.seed must be in [0, 2**32), got {self.seed}")
        if ":" in self.device:
            raise ValueError(
                f"run.device names a device type (auto, cpu, cuda, ...), not one device: got "
                f"{self.device!r}; choose GPUs with CUDA_VISIBLE_DEVICES"
            )
        if unknown := [name for name in self.log_with if name not in TRACKERS]:
            raise ValueError(
                f"run.log_with: unknown tracker(s) {unknown}; accelerate's trackers are "
                f"{', '.join(TRACKERS)}, written as a list (run.log_with=[tensorboard,wandb]), "
                f"or [] for none"
            )
        if self.encoder_cache_dtype not in DTYPES:  # checked here, not first at setup
            raise ValueError(
                f"run.encoder_cache_dtype must be one of {DTYPES}, got {self.encoder_cache_dtype!r}"
            )
        if not self.project_name:
            raise ValueError(
                f"run.project_name must not be empty (it names the trackers' project), got "
                f"{self.project_name!r}"
            )


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        # text examples reach only the LLM: without LoRA (stage 1, or LoRA off) they train nothing
        lora = self.run.stage == 2 and self.model.lora.enabled
        if self.data.text and not lora and not self.model.llm_trainable:
            raise ValueError(
                f"data.text trains LoRA, which run.stage={self.run.stage} with "
                f"model.lora.enabled={str(self.model.lora.enabled).lower()} turns off: use "
                "run.stage=2 with LoRA (a text-only stage is stage 2 with no data.train)"
            )

    @property
    def sampler(self) -> SamplerOptions:
        """The batch sampler's options, its seed resolved: ``data.sampler.seed`` when the config
        sets one (the batch order held fixed while ``run.seed`` varies the rest), else
        ``run.seed`` (one seed for the whole run)."""
        seed = self.run.seed if self.data.sampler.seed is None else self.data.sampler.seed
        return replace(self.data.sampler, seed=seed)


def load_train_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML training config, apply ``key=value`` overrides and validate it.

    ``output_dir=DIR`` is ``run.output_dir=DIR`` (`OVERRIDE_ALIASES`).

    Relative manifest and model paths are resolved against the current directory, as a user
    typing them would expect.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming any unknown key or bad value.
    """
    raw = load_yaml(path)
    for section in ("model", "data"):
        if section not in raw:
            raise ValueError(f"{path}: the config needs a '{section}' section")
    raw["model"] = expand_preset(raw["model"])
    return from_dict(TrainConfig, apply_overrides(raw, [_alias(o) for o in overrides or []]))


def _alias(override: str) -> str:
    """An override with a short key (`OVERRIDE_ALIASES`) written with its full key."""
    key, sep, value = override.partition("=")
    return f"{OVERRIDE_ALIASES[key]}{sep}{value}" if sep and key in OVERRIDE_ALIASES else override


def expand_preset(model: Any) -> Any:
    """``model: paper-mt0-xl`` (a preset name) → the preset's fields as a dict; ``model:
    {preset: NAME, key: value, ...}`` → the preset with those fields replaced."""
    from unheard.config import to_dict
    from unheard.presets import PRESETS

    name = model if isinstance(model, str) else (model or {}).get("preset")
    if name is None:
        return model
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; presets: {', '.join(PRESETS)}")
    rest = {} if isinstance(model, str) else {k: v for k, v in model.items() if k != "preset"}
    return {**to_dict(PRESETS[name]), **rest}
