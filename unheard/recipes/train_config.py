"""The training run's config: model, data, optimisation and run sections, from YAML + overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unheard.config import ModelConfig, apply_overrides, from_dict, load_yaml
from unheard.data.augment import Augmentation
from unheard.data.sampler import SamplerOptions

STAGES = (1, 2)
PRECISIONS = ("no", "bf16", "fp16")
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
    tasks: tuple[str, ...] = ("asr", "st")  # stage 1 of the paper: ("asr",)
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
    text_tasks: tuple[str, ...] = ("translate", "denoise")  # text → English; text → itself
    text_weight: float = 0.3  # text's share of an epoch's draws when there is speech too
    text_languages: tuple[str, ...] | None = None  # keep only text in these (None: all)
    text_noise: float = 0.15  # share of words dropped from a denoising input
    text_seconds_per_token: float = 0.08  # a text token's cost in the sampler (one 80 ms frame)

    def __post_init__(self) -> None:
        if not self.train and not self.text:
            raise ValueError("data.train (manifests) or data.text (text files) must name a file")
        bad_text = set(self.text_tasks) - {"translate", "denoise"}
        if self.text and (bad_text or not self.text_tasks):
            raise ValueError(
                f"data.text_tasks must be a non-empty subset of translate, denoise; got "
                f"{self.text_tasks}"
            )
        if not 0 <= self.text_weight < 1 or not 0 <= self.text_noise < 1:
            raise ValueError(
                f"data.text_weight and text_noise must be in [0, 1), got {self.text_weight} and "
                f"{self.text_noise}"
            )
        if self.text_seconds_per_token <= 0:
            raise ValueError(
                f"data.text_seconds_per_token must be > 0: {self.text_seconds_per_token}"
            )
        bad = set(self.tasks) - {"asr", "st"}
        if bad or not self.tasks:
            raise ValueError(f"data.tasks must be a non-empty subset of asr, st; got {self.tasks}")
        if unknown := set(self.mixing) - {"corpus", "task", "language"}:
            raise ValueError(f"data.mixing keys must be corpus/task/language, got {unknown}")

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
        if self.grad_accumulation < 1 or self.warmup_steps < 0:
            raise ValueError("optim.grad_accumulation must be >= 1 and warmup_steps >= 0")


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
    mixed_precision: str = "no"  # no, bf16 or fp16 (accelerate autocast)
    gradient_checkpointing: bool = False  # recompute LLM activations in backward
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
            raise ValueError(f"run.mixed_precision must be one of {PRECISIONS}")
        if self.max_steps < 1 or self.save_every < 1 or self.keep_last < 1:
            raise ValueError("run.max_steps, save_every and keep_last must be >= 1")
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
        if not self.project_name:
            raise ValueError("run.project_name must not be empty (it names the trackers' project)")


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
                "data.text trains LoRA, which stage 1 or model.lora.enabled=false turns off: use "
                "run.stage=2 with LoRA (a text-only stage is stage 2 with no data.train)"
            )


def load_train_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML training config, apply ``key=value`` overrides and validate it.

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
    return from_dict(TrainConfig, apply_overrides(raw, overrides or []))


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
