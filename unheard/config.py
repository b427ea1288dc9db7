"""Typed configuration: frozen dataclasses, built from YAML/JSON dicts with ``key=value`` overrides."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class LoraOptions:
    """LoRA settings. The paper's: rank 16 on q and v of every attention."""

    enabled: bool = True  # False trains no LoRA (stage 1, or the no-LoRA ablation)
    r: int = 16  # rank
    alpha: int = 32  # scaling numerator: the update is (alpha / r) * B @ A
    dropout: float = 0.05  # dropout on the LoRA input
    # module-name suffixes to adapt; None takes peft's default for the model type, which is q and
    # v of every attention (encoder self-, decoder self- and cross-attention): ("q", "v") for
    # T5/mT5, ("q_proj", "v_proj") for Llama, Qwen2 and Gemma 3. ("all-linear",): every linear
    # layer but the output head (peft's shorthand, as QLoRA), attention and feed-forward alike
    target_modules: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ValueError(f"lora.r must be >= 1, got {self.r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"lora.dropout must be in [0, 1), got {self.dropout}")
        if self.target_modules is not None and not self.target_modules:
            raise ValueError("lora.target_modules is empty; use null for the model's default")


@dataclass(frozen=True)
class ModelConfig:
    """What a SpeechLLM is made of. Saved inside every checkpoint."""

    encoder: str  # hub id or local path of the frozen speech encoder
    llm: str  # hub id or local path of the frozen LLM (its tokenizer is loaded from here too)
    # architecture of `encoder` / `llm` as a transformers config dict, used when building without
    # weights (`unheard plan`, tests): no download is needed. Loading weights reads the model's own
    # config instead.
    encoder_config: dict | None = None
    llm_config: dict | None = None
    adapter_stride: int | None = None  # None: 80 ms LLM frames, i.e. 80 / encoder frame ms
    adapter_kernel: int = 3  # kernel size of both adapter convs
    # RMS-normalise the adapter output with a learned gain that starts at the LLM's token-embedding
    # RMS, so audio frames enter the LLM at the scale of its tokens; off: the paper's adapter
    adapter_norm: bool = False
    lora: LoraOptions = field(default_factory=LoraOptions)
    encoder_trainable: bool = False  # train the speech encoder too (the paper: frozen)
    # Whisper only: encode the audio's own length instead of padding to the 30 s window;
    # ~9x faster on short clips, but the deeper layers drift from the padded outputs (cosine
    # 0.80-0.99 by layer on a 2 s clip with Whisper base), so train and test alike
    whisper_real_length: bool = False
    # extra LLM parameters to train, by name substring (e.g. "lm_head"); empty for the paper
    llm_trainable: tuple[str, ...] = ()
    # dtype of the frozen encoder and LLM weights, or auto: the LLM's in bfloat16 where the device
    # computes it natively (CUDA with bf16, a CPU with AVX512-BF16 or AMX), else float32; the
    # encoder's in float32 (its outputs are cached once, the same on every machine)
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for name in ("encoder", "llm"):
            if not getattr(self, name):
                raise ValueError(
                    f"model.{name} must name a hub id or a local path, got {getattr(self, name)!r}"
                )
        if self.dtype not in (*DTYPES, "auto"):
            raise ValueError(f"model.dtype must be one of {(*DTYPES, 'auto')}, got {self.dtype!r}")
        if self.adapter_stride is not None and self.adapter_stride < 1:
            raise ValueError(
                f"model.adapter_stride must be >= 1 or null (80 ms frames), got "
                f"{self.adapter_stride}"
            )
        if self.adapter_kernel < 1:
            raise ValueError(f"model.adapter_kernel must be >= 1, got {self.adapter_kernel}")


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build a (nested) frozen dataclass from a plain dict, rejecting unknown keys and values of
    the wrong type.

    Args:
        cls: the dataclass type.
        data: its fields; nested dataclasses as dicts, tuples as lists.
        prefix: the dotted path of ``data`` in the whole config (``"run."``), for messages.

    Returns:
        The dataclass instance (its ``__post_init__`` validates values).

    Raises:
        ValueError: on an unknown key, naming it and the known ones; on a value of the wrong
            type (``run.max_steps=ten``, or a bare string where a list is expected), naming the
            key, the value and the type expected.
    """
    if not isinstance(data, dict):
        where = f"{prefix.rstrip('.')} " if prefix else ""
        raise ValueError(
            f"{where}({cls.__name__}) expects a mapping of its keys, got {type(data).__name__} "
            f"{_short(data)}"
        )
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f" in {prefix.rstrip('.')}" if prefix else ""
        raise ValueError(
            f"unknown {cls.__name__} key(s) {unknown}{where}; known keys: "
            f"{', '.join(sorted(names))}"
        )
    return cls(**{k: _coerce(hints[k], v, prefix + k) for k, v in data.items()})


# Scalar types checked on the way in: a wrong type would otherwise reach __post_init__ as a
# TypeError ("'<' not supported between 'str' and 'int'") that names neither key nor value.
_SCALARS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _coerce(hint: Any, value: Any, name: str) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(args[0], value, name) if len(args) == 1 else value
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else from_dict(hint, value, f"{name}.")
    if origin is tuple:
        # a bare string is a sequence of letters: train=a.jsonl would read files "a", ".", ...
        if isinstance(value, str | bytes | dict) or not isinstance(value, list | tuple):
            raise ValueError(f"{name} must be a list, e.g. {name}=[{value}], got {_short(value)}")
        return tuple(value)
    if hint in _SCALARS:
        return _scalar(hint, value, name)
    return value


def _scalar(hint: type, value: Any, name: str) -> Any:
    # YAML gives ints for floats written without a dot (lr: 1) and floats for ints written with
    # an exponent (warmup_steps=1E2): both are what the user meant
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if hint is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # run.output_dir=2024 is a folder name, not a number
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ValueError(f"{name} must be {_SCALARS[hint]}, got {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON/YAML-ready dict of a (nested) dataclass; tuples become lists."""
    return _plain(dataclasses.asdict(config))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-4`` and ``5E3`` are numbers, not the
    strings YAML 1.1 (which needs a dot: ``1.0e-4``) makes of them — ``optim.lr=5e-4`` would
    otherwise reach the config as text."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with YAML 1.2 floats (``1e-4`` is a float)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides to a nested dict (values parsed as YAML).

    Args:
        data: the config dict; not modified.
        overrides: e.g. ``["model.lora.r=8", "model.lora.enabled=false"]``.

    Returns:
        A new dict with the overrides applied.

    Raises:
        ValueError: on an override without ``=``.
    """
    out = yaml.safe_load(yaml.safe_dump(data))
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} is not of the form key=value")
        node = out
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {p!r} is not a mapping")
        node[last] = parse_yaml(raw)
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if it is not valid YAML or does not hold a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = parse_yaml(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping at the top level")
    return data
