"""``unheard export``: a checkpoint as a self-contained folder laid out for the Hugging Face Hub.

The folder holds ``trained.safetensors``, ``unheard.json`` (the checkpoint config), a model card
``README.md`` with the Hub's metadata, and ``metrics.json`` when scores are given. Upload it as it
is (``hf upload USER/NAME DIR``); ``unheard.load("USER/NAME")`` then loads it anywhere.

The frozen encoder and LLM must resolve on another machine. A hub id (or ``tiny:``/``offline:``/
``unheard:`` name) is kept. A local folder is not: a small one (up to ``max_copy_mb``, such as the mini mT5 of
``unheard/assets/mini``) is copied into the export and named ``./encoder`` or ``./llm``, which
`read_checkpoint_config` resolves beside the config wherever the folder lies, the hub cache's
snapshot included; a bigger one is refused unless the hub id it is a copy of is given.

Seen and unseen languages, for the card, come from the options, else from the checkpoint's
``extra`` (``seen_languages``, ``unseen_languages``), else from its run's ``summary.json``
(``unseen_languages``), else from the metrics (the split ``unheard evaluate`` was told).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unheard.checkpoint import CONFIG_NAME, WEIGHTS_NAME, read_checkpoint_config
from unheard.files import atomic_directory
from unheard.hub.checkpoints import checkpoint_folder, is_hub_id
from unheard.hub.packaged import OFFLINE_SCHEME, SHIPPED_SCHEME, packaged_model
from unheard.publish.model_card import CardFacts, model_card
from unheard.tiny import TINY_SCHEME

METRICS_NAME = "metrics.json"
CARD_NAME = "README.md"
FROZEN = ("encoder", "llm")  # the config's fields naming frozen models; also their folder names


@dataclass(frozen=True)
class ExportOptions:
    """What to write beside the trained weights."""

    seen: tuple[str, ...] = ()  # languages with paired training audio (default: as recorded)
    unseen: tuple[str, ...] = ()  # zero-resource languages (default: as recorded)
    license: str = "apache-2.0"  # licence of the trained weights; base models keep their own
    datasets: tuple[str, ...] = ()  # hub ids of the training data, for the card
    eval_dataset: str | None = None  # hub id of the test data of the metrics (default: datasets[0])
    repo_id: str | None = None  # USER/NAME it will be published as (default: USER/<folder name>)
    encoder: str | None = None  # hub id to name the frozen encoder by, instead of its local path
    llm: str | None = None  # hub id to name the frozen LLM by, instead of its local path
    max_copy_mb: float = 1024.0  # largest local encoder/LLM folder copied into the export
    overwrite: bool = False  # replace a non-empty output folder

    def __post_init__(self) -> None:
        """Validate once.

        Raises:
            ValueError: for a language both seen and unseen, an empty licence, a repo id or
                model id that is not a hub id, or a negative size limit.
        """
        both = set(self.seen) & set(self.unseen)
        if both:
            raise ValueError(f"languages {sorted(both)} are given both as seen and unseen")
        if not self.license.strip():
            raise ValueError("the licence must not be empty (e.g. apache-2.0, mit, cc-by-4.0)")
        if self.repo_id is not None and not (is_hub_id(self.repo_id) and "/" in self.repo_id):
            raise ValueError(f"repo id must be USER/NAME, got {self.repo_id!r}")
        for key in FROZEN:
            value = getattr(self, key)
            if value is not None and not is_hub_id(value):
                raise ValueError(f"--{key} must be a hub id such as USER/NAME, got {value!r}")
        if self.max_copy_mb < 0:
            raise ValueError(f"max_copy_mb must be >= 0, got {self.max_copy_mb}")


@dataclass(frozen=True)
class Export:
    """What `export_checkpoint` wrote."""

    folder: Path
    files: tuple[str, ...]  # top-level entries of the folder
    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    sources: dict[str, str] = field(default_factory=dict)  # "seen"/"unseen" → where from
    warnings: tuple[str, ...] = ()  # what the card lacks and how to add it


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    metrics: str | os.PathLike[str] | None = None,
    options: ExportOptions | None = None,
) -> Export:
    """Write a checkpoint as a folder ready for ``hf upload``.

    The folder is written beside ``out`` under a temporary name and renamed into place.

    Args:
        checkpoint: a checkpoint folder (or hub id) with ``unheard.json`` and
            ``trained.safetensors``.
        out: the folder to write; it must not exist or be empty, unless ``options.overwrite``.
        metrics: an ``unheard evaluate`` ``metrics.json``, for the card's scores.
        options: languages, licence, names; see `ExportOptions`.

    Returns:
        What was written, with the languages and where they came from.

    Raises:
        FileNotFoundError: for a missing checkpoint, weights or metrics file.
        ValueError: for a non-empty ``out``, a metrics file of another kind, or a frozen model
            that is a local folder too big to copy (and not named by hub id) or not found.
    """
    options = options or ExportOptions()
    source = checkpoint_folder(checkpoint)
    config, extra = read_checkpoint_config(source)  # ./ and ../ models resolved to local paths
    meta = json.loads((source / CONFIG_NAME).read_text())
    weights = source / WEIGHTS_NAME
    if not weights.is_file():
        raise FileNotFoundError(f"{source} has no {WEIGHTS_NAME}")
    scores = read_metrics(metrics) if metrics is not None else None
    out = Path(out)
    _check_target(out, options.overwrite)

    names = {key: frozen_name(key, getattr(config, key), options) for key in FROZEN}
    languages, sources = _languages(source, extra, scores, options)
    warnings = [
        f"{side} languages are not recorded in the checkpoint: pass --{side} for the card"
        for side in ("seen", "unseen")
        if not languages[side]
    ]
    repo_id = options.repo_id or f"USER/{out.name}"
    if options.repo_id is None:
        warnings.append(f"the card's examples load {repo_id!r}: pass --repo-id USER/NAME")

    eval_dataset = options.eval_dataset or (options.datasets[0] if options.datasets else None)
    for inside in (source, *(local for _, local in names.values() if local is not None)):
        if out.resolve() in (inside.resolve(), *inside.resolve().parents):
            raise ValueError(f"--out {out} holds {inside}, which the export reads: choose another")

    # an existing --out is empty, or overwriting it was asked for (`_check_target`)
    with atomic_directory(out, replace=True) as tmp:
        shutil.copyfile(weights, tmp / WEIGHTS_NAME)
        for key, (_, local) in names.items():
            if local is not None:
                shutil.copytree(local, tmp / key, ignore=shutil.ignore_patterns(".*"))
        meta["model"].update({key: name for key, (name, _) in names.items()})
        meta["extra"] = {
            **meta.get("extra", {}),
            **{f"{s}_languages": list(languages[s]) for s in languages},
        }
        (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")
        if scores is not None:
            (tmp / METRICS_NAME).write_text(json.dumps(scores, indent=2, ensure_ascii=False) + "\n")
        facts = CardFacts(
            name=repo_id.split("/")[-1],
            repo_id=repo_id,
            license=options.license,
            encoder=names["encoder"][0],
            llm=names["llm"][0],
            base_models=tuple(b for b in (base_model(n) for n, _ in names.values()) if b),
            seen=languages["seen"],
            unseen=languages["unseen"],
            datasets=options.datasets,
            eval_dataset=eval_dataset,
            trained_params=count_parameters(weights),
            details=_details(meta),
        )
        (tmp / CARD_NAME).write_text(model_card(facts, scores), encoding="utf-8")
    return Export(
        folder=out,
        files=tuple(sorted(p.name for p in out.iterdir())),
        seen=languages["seen"],
        unseen=languages["unseen"],
        sources=sources,
        warnings=tuple(warnings),
    )


def frozen_name(key: str, name: str, options: ExportOptions) -> tuple[str, Path | None]:
    """How the export names a frozen model, and the local folder to copy for it (or None).

    Args:
        key: ``encoder`` or ``llm``.
        name: the model as the checkpoint names it (``./`` and ``../`` already resolved).
        options: ``encoder``/``llm`` (a hub id to name it by) and ``max_copy_mb``.

    Returns:
        ``(name in unheard.json, folder to copy)``: ``("./llm", path)`` for a small local
        folder, ``(name, None)`` for a hub id or a ``tiny:``/``offline:``/``unheard:`` name.

    Raises:
        ValueError: for a local folder bigger than ``max_copy_mb``, or a name that is neither a
            folder on disk nor a hub id.
    """
    given = getattr(options, key)
    if given is not None:
        return given, None
    path = Path(name).expanduser()
    if path.is_dir():
        size_mb = folder_size(path) / 2**20
        if size_mb > options.max_copy_mb:
            raise ValueError(
                f"the {key} {name} is a local folder of {size_mb:,.0f} MiB, over --max-copy-mb "
                f"{options.max_copy_mb:g}: name the hub model it is a copy of with --{key} "
                "USER/NAME, or raise --max-copy-mb to ship it in the export"
            )
        return f"./{key}", path
    if name.startswith((TINY_SCHEME, OFFLINE_SCHEME, SHIPPED_SCHEME)) or is_hub_id(name):
        return name, None
    raise ValueError(
        f"the checkpoint's {key} {name!r} is neither a local folder nor a hub id: name the hub "
        f"model with --{key} USER/NAME"
    )


def base_model(name: str) -> str | None:
    """The hub id of a frozen model for the card's ``base_model`` (None for shipped or tiny
    ones)."""
    if name.startswith(("./", TINY_SCHEME, SHIPPED_SCHEME)):
        return None
    packaged = packaged_model(name)
    return packaged.hub_id if packaged is not None else name


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an ``unheard evaluate`` ``metrics.json``.

    Raises:
        FileNotFoundError: if it does not exist.
        ValueError: if it is not JSON or has no ``overall`` and ``by_language`` scores.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file {path} not found")
    try:
        metrics = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from e
    if not isinstance(metrics, dict) or not {"overall", "by_language"} <= metrics.keys():
        raise ValueError(
            f"{path} is not an `unheard evaluate` metrics.json (no overall, by_language)"
        )
    return metrics


def folder_size(path: Path) -> int:
    """Bytes in the files under ``path`` (hidden ones left out, as the copy leaves them)."""
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def count_parameters(weights: Path) -> int:
    """Numbers in a safetensors file, read from its header."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(weights), framework="pt") as f:
        for name in f.keys():  # noqa: SIM118 (safe_open has no __iter__)
            n = 1
            for dim in f.get_slice(name).get_shape():
                n *= dim
            total += n
    return total


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty: choose another folder or pass --overwrite")


def _languages(
    source: Path, extra: dict[str, Any], metrics: dict[str, Any] | None, options: ExportOptions
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    # each side from the first place that records it
    summary = _run_summary(source)
    found: dict[str, tuple[str, ...]] = {}
    sources: dict[str, str] = {}
    for side in ("seen", "unseen"):
        key = f"{side}_languages"
        candidates = [
            ("--" + side, getattr(options, side)),
            (f"the checkpoint's extra.{key}", extra.get(key)),
            (f"the run's summary.json {key}", summary.get(key)),
            (f"the metrics' {key}", (metrics or {}).get(key)),
        ]
        found[side], sources[side] = (), "not recorded"
        for where, value in candidates:
            if value:
                found[side], sources[side] = tuple(str(v) for v in value), where
                break
    both = set(found["seen"]) & set(found["unseen"])
    if both:
        raise ValueError(
            f"languages {sorted(both)} are seen ({sources['seen']}) and unseen "
            f"({sources['unseen']}): give --seen and --unseen"
        )
    return found, sources


def _run_summary(checkpoint: Path) -> dict[str, Any]:
    # unheard train writes <output_dir>/checkpoints/step-N and <output_dir>/summary.json
    path = checkpoint.parent.parent / "summary.json"
    if checkpoint.parent.name != "checkpoints" or not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


def _details(meta: dict[str, Any]) -> tuple[str, ...]:
    model, extra = meta.get("model", {}), meta.get("extra", {})
    lines = []
    if extra.get("step") is not None:
        stage = f", stage {extra['stage']}" if extra.get("stage") is not None else ""
        lines.append(f"Trained for {extra['step']:,} steps{stage}")
    lora = model.get("lora") or {}
    if lora.get("enabled"):
        lines.append(f"LoRA rank {lora.get('r')}, alpha {lora.get('alpha')}")
    stride = model.get("adapter_stride")
    lines.append(f"Adapter stride {stride if stride else 'auto (80 ms LLM frames)'}")
    if extra.get("name_source_language"):
        lines.append("Prompts name the spoken language: pass --language (language= in Python)")
    return tuple(lines)
