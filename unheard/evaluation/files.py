"""Evaluate hypothesis files into a folder: ``metrics.json``, ``report.md`` and plots (what
``unheard evaluate`` does, callable from Python, e.g. by the offline benchmark)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unheard.data.prompts import Prompts
from unheard.decoding.hypotheses import Hypothesis, read_hypotheses
from unheard.files import write_atomic


def read_hypothesis_files(paths: Sequence[str | os.PathLike[str]]) -> list[Hypothesis]:
    """The hypotheses of several files, each (utterance, task) once.

    Raises:
        ValueError: if one (utterance, task) is in two files.
    """
    records = []
    seen_keys: dict[tuple[str, str], str] = {}
    for path in paths:
        for record in read_hypotheses(path):
            if record.key in seen_keys:
                raise ValueError(
                    f"{record.task} of {record.id!r} is in both {seen_keys[record.key]} and {path}"
                )
            seen_keys[record.key] = str(path)
            records.append(record)
    return records


def evaluate_files(
    hypotheses: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    seen: tuple[str, ...] = (),
    unseen: tuple[str, ...] = (),
    compare: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    lid_languages: tuple[str, ...] | None = None,
    lid_min_confidence: float = 0.0,
    verbose: bool = True,
) -> dict[str, Any]:
    """Score hypothesis files and write ``metrics.json``, ``report.md`` and PNG plots to ``out``.

    Args:
        hypotheses: files written by ``unheard decode``.
        out: the output folder (created).
        seen, unseen: the languages with and without paired training audio.
        compare: a baseline's hypotheses of the same utterances (paired bootstrap tests).
        checkpoint: the checkpoint that decoded (layer weights, prompt echoes).
        lid_languages: restrict language identification to these.
        lid_min_confidence: below it a language is ``und``.
        verbose: print a one-line summary.

    Returns:
        The metrics as written to ``metrics.json``.
    """
    from unheard.evaluation.evaluate import EvaluationOptions, evaluate
    from unheard.evaluation.language_id import LanguageIdOptions
    from unheard.evaluation.layer_weights import layer_weights
    from unheard.evaluation.plots import (
        plot_language_confusion,
        plot_layer_weights,
        plot_scores_by_language,
    )
    from unheard.evaluation.report import render_report

    names = [str(p) for p in hypotheses]
    records = read_hypothesis_files(names)
    baseline = read_hypotheses(compare) if compare else None
    prompts: tuple[Prompts, ...] = ()
    weights = None
    if checkpoint:
        from unheard.checkpoint import read_checkpoint_config

        _, extra = read_checkpoint_config(checkpoint)
        if extra.get("prompts"):
            prompts = (Prompts(dict(extra["prompts"])),)
        weights = layer_weights(checkpoint)
    options = EvaluationOptions(
        seen=seen,
        unseen=unseen,
        language_id=LanguageIdOptions(lid_languages, lid_min_confidence),
        prompts=prompts,
    )
    evaluation = evaluate(records, options, baseline=baseline)

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    compared = str(compare) if compare else None
    metrics = {
        **evaluation.metrics,
        "inputs": names,
        "compare_with": compared,
        "layer_weights": weights,
    }
    # metrics.json is what scripts read: whole or not at all
    write_atomic(folder / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    plots = {}
    if evaluation.confusion.total:  # none when every hypothesis is phones (in no language)
        confusion = plot_language_confusion(evaluation.confusion, folder / "language_confusion.png")
        plots["confusion"] = confusion.name
    scores = plot_scores_by_language(evaluation.metrics, folder / "scores_by_language.png")
    if scores is not None:
        plots["scores"] = scores.name
    if weights is not None:
        plots["layers"] = plot_layer_weights(weights, folder / "layer_weights.png").name
    report = render_report(evaluation, names, plots, weights, compared)
    write_atomic(folder / "report.md", report)
    if verbose:
        overall = evaluation.metrics["overall"]
        shown = ", ".join(
            f"{name} {overall[key]:.1f}"
            for key, name in (
                ("bleu", "BLEU"),
                ("chrf", "chrF"),
                ("wer", "WER"),
                ("cer", "CER"),
                ("per", "PER"),
            )
            if overall[key] is not None
        )
        accuracy = overall["language_accuracy"]
        language = "–" if accuracy is None else f"{accuracy:.1f}%"  # None: phones only
        print(
            f"{overall['utterances']} hypotheses: {shown or 'no references'}; right language "
            f"{language}; wrote {folder / 'metrics.json'}, {folder / 'report.md'} and "
            f"{len(plots)} plot(s)"
        )
    return metrics
