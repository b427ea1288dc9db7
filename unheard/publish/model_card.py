"""The model card of an exported checkpoint: the Hub's YAML metadata, then what the model is,
how to use it, its scores and its licences.

The metadata is written by huggingface_hub's own `ModelCardData` (the Hub's field names and its
``model-index`` layout for evaluation results); the scores come from an ``unheard evaluate``
``metrics.json`` (overall, seen, unseen and per-language groups, all in percent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TAGS = ("speech-translation", "automatic-speech-recognition", "zero-resource")
PIPELINE_TAG = "automatic-speech-recognition"  # the Hub has no speech-translation pipeline
# metric in metrics.json → (model-index type, name, task)
METRICS = {
    "bleu": ("bleu", "BLEU", "st"),
    "chrf": ("chrf", "chrF", "st"),
    "wer": ("wer", "WER", "asr"),
    "cer": ("cer", "CER", "asr"),
    "language_accuracy": ("accuracy", "output-language accuracy", None),
}
TASKS = {  # model-index task type and name of each unheard task
    "asr": ("automatic-speech-recognition", "Speech recognition"),
    "st": ("translation", "Speech translation"),
}
GROUPS = ("overall", "seen", "unseen")
PAPER_URL = "https://arxiv.org/abs/2412.18566"  # the method: Mundnich et al., ICASSP 2025


@dataclass(frozen=True)
class CardFacts:
    """What the card says about one exported checkpoint."""

    name: str  # the model's name (the card's title)
    repo_id: str  # the hub id it is published as, in the usage examples
    license: str  # licence of the trained weights
    encoder: str  # the frozen encoder as unheard.json names it (a hub id or ./encoder)
    llm: str  # the frozen LLM, likewise
    base_models: tuple[str, ...]  # hub ids of the frozen models, for base_model
    seen: tuple[str, ...]  # languages with paired audio in training
    unseen: tuple[str, ...]  # languages without (zero-resource)
    datasets: tuple[str, ...] = ()  # hub ids of the training data
    eval_dataset: str | None = None  # hub id of the data the metrics were computed on
    trained_params: int = 0  # parameters in trained.safetensors
    details: tuple[str, ...] = ()  # further "- ..." lines about the training (step, stage, LoRA)


def model_card(facts: CardFacts, metrics: dict[str, Any] | None = None) -> str:
    """The ``README.md`` of an exported checkpoint.

    Args:
        facts: the model's names, languages, licence and provenance.
        metrics: the content of an ``unheard evaluate`` ``metrics.json``, or None.

    Returns:
        The card: YAML front matter between ``---`` lines, then Markdown.
    """
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        language=hub_languages(facts.seen + facts.unseen) or None,
        license=facts.license,
        library_name="unheard",
        tags=list(TAGS),
        base_model=list(facts.base_models) or None,
        datasets=list(facts.datasets) or None,
        pipeline_tag=PIPELINE_TAG,
        model_name=facts.repo_id if metrics else None,  # the model-index's name
        eval_results=eval_results(metrics, facts.eval_dataset) if metrics else None,
    )
    body = [
        _about(facts),
        _usage(facts.repo_id),
        _files(facts),
        _evaluation(metrics, facts.eval_dataset) if metrics else "",
        _licence(facts),
    ]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(part for part in body if part)


def hub_languages(codes: tuple[str, ...]) -> list[str]:
    """Language codes as the Hub's ``language:`` list wants them: base ISO codes (``pt_BR`` →
    ``pt``), lower case, each once, in order."""
    out: list[str] = []
    for code in codes:
        base = code.replace("-", "_").split("_")[0].lower()
        if base and base not in out:
            out.append(base)
    return out


def eval_results(metrics: dict[str, Any], eval_dataset: str | None = None) -> list[Any]:
    """The ``model-index`` entries of a metrics.json: every score of the overall, seen and
    unseen groups (named so in the metric's name) and of each language (as the dataset config).

    Args:
        metrics: the content of an ``unheard evaluate`` ``metrics.json``.
        eval_dataset: the hub id of the test data, if it has one.

    Returns:
        huggingface_hub ``EvalResult`` objects, values rounded to 2 decimals.
    """
    from huggingface_hub import EvalResult

    dataset = {
        "dataset_type": eval_dataset or "custom",
        "dataset_name": eval_dataset or "unheard evaluate test sets",
    }
    results = []
    rows = [(group, None, metrics.get(group)) for group in GROUPS]
    by_language = metrics.get("by_language") or {}
    rows += [(None, language, scores) for language, scores in sorted(by_language.items())]
    for group, language, scores in rows:
        if not scores:
            continue
        for key, (metric_type, metric_name, task) in METRICS.items():
            if scores.get(key) is None:
                continue
            task = task or ("asr" if scores.get("asr") else "st")
            if group is not None:
                metric_name = f"{metric_name} ({_group_label(group, scores)})"
            elif scores.get("split"):
                metric_name = f"{metric_name} ({scores['split']})"
            results.append(
                EvalResult(
                    task_type=TASKS[task][0], task_name=TASKS[task][1], **dataset,
                    dataset_config=language, metric_type=metric_type,
                    metric_value=round(float(scores[key]), 2), metric_name=metric_name,
                )
            )  # fmt: skip
    return results


def score_table(metrics: dict[str, Any]) -> str:
    """A Markdown table of a metrics.json: one row per group, then per language; ``–`` where a
    score does not apply. Values in percent, one decimal."""
    header = "| | languages | BLEU | chrF | WER % | CER % | output language % |"
    lines = [header, "|---|---|---:|---:|---:|---:|---:|"]
    rows = [(f"**{group}**", metrics.get(group)) for group in GROUPS]
    by_language = metrics.get("by_language") or {}
    rows += [(language, scores) for language, scores in sorted(by_language.items())]
    for label, scores in rows:
        if not scores:
            continue
        languages = ", ".join(scores.get("languages") or []) or (scores.get("split") or "")
        cells = [_number(scores.get(key)) for key in METRICS]
        lines.append(f"| {label} | {languages} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def _group_label(group: str, scores: dict[str, Any]) -> str:
    languages = scores.get("languages") or []
    if group == "overall" or not languages:
        return group
    return f"{group}: {', '.join(languages)}"


def _codes(codes: tuple[str, ...]) -> str:
    return ", ".join(f"`{c}`" for c in codes) if codes else "not recorded"


def _about(facts: CardFacts) -> str:
    params = f" ({facts.trained_params / 1e6:,.1f}M parameters)" if facts.trained_params else ""
    shipped = [v for v in (facts.encoder, facts.llm) if v.startswith("./")]
    if shipped:
        loaded = f"it ships its small frozen {' and '.join(f'`{v}`' for v in shipped)} too"
        if len(shipped) < 2:
            loaded += ", and the other frozen model is loaded by its hub id"
    else:
        loaded = "the frozen models are loaded by their hub ids"
    lines = [
        f"# {facts.name}\n",
        f"A speech-LLM for zero-resource speech translation and recognition, trained with "
        f"`unheard` ([the method]({PAPER_URL})): the frozen speech encoder `{facts.encoder}` → a learned "
        f"weighted sum of all its layers → a CNN adapter → the frozen LLM `{facts.llm}` with "
        f"LoRA. This repository holds what was trained{params}; {loaded}.\n",
        f"- Seen languages (paired audio in training): {_codes(facts.seen)}",
        f"- Unseen languages (no paired audio: zero-resource): {_codes(facts.unseen)}",
    ]
    if facts.datasets:
        lines.append(f"- Training data: {', '.join(facts.datasets)}")
    lines += [f"- {line}" for line in facts.details]
    return "\n".join(lines) + "\n"


def _usage(repo_id: str) -> str:
    return f"""## Use

With `unheard` installed:

```bash
unheard transcribe {repo_id} speech.wav           # text; --format json|srt|vtt
unheard translate {repo_id} speech.wav --to en
unheard serve {repo_id} --port 8000               # OpenAI-compatible /v1/audio/...
```

```python
import unheard

stt = unheard.load("{repo_id}")
print(stt.transcribe("speech.wav").text)
print(stt.translate("speech.wav", to="en").text)
```

The files are fetched once into the Hugging Face cache. On a machine without the hub, fetch them
beforehand (`hf download {repo_id}`) and set `HF_HUB_OFFLINE=1`.
"""


def _files(facts: CardFacts) -> str:
    lines = [
        "## Files\n",
        "- `trained.safetensors`: the trained parameters (layer-mix weights, adapter, LoRA)",
        "- `unheard.json`: the model config naming the frozen encoder and LLM, and the "
        "training's metadata (prompts, step, languages)",
    ]
    for key, value in (("encoder", facts.encoder), ("LLM", facts.llm)):
        if value.startswith("./"):
            lines.append(f"- `{value[2:]}/`: the frozen {key}, shipped here")
    return "\n".join(lines) + "\n"


def _evaluation(metrics: dict[str, Any], eval_dataset: str | None) -> str:
    data = f" on {eval_dataset}" if eval_dataset else ""
    return (
        f"## Evaluation\n\nScored by `unheard evaluate`{data} (`metrics.json` holds every "
        "number, the language-confusion matrix and the BLEU signatures). BLEU and chrF: "
        "sacreBLEU, on translations; WER and CER: after Whisper-style normalisation, on "
        "transcripts; output language: the share of answers written in the language asked "
        "for.\n\n" + score_table(metrics)
    )


def _licence(facts: CardFacts) -> str:
    bases = [v for v in (facts.encoder, facts.llm) if not v.startswith("./")]
    shipped = [v for v in (facts.encoder, facts.llm) if v.startswith("./")]
    text = f"## Licence\n\nThe trained weights in this repository: `{facts.license}`."
    if bases:
        text += (
            " The frozen base models keep their own licences and terms of use: "
            + ", ".join(f"`{b}`" for b in bases)
            + " (see their model cards); using this model means using them under those terms."
        )
    if shipped:
        text += (
            " A model shipped here (" + ", ".join(f"`{s}`" for s in shipped) + ") carries the "
            "licence of the model it was made from."
        )
    return text + "\n"
