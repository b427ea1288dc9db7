"""The report's pictures: per-language scores seen vs unseen, the language-confusion heatmap and
a checkpoint's learned layer weights. matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: works on a machine without a display

import matplotlib.pyplot as plt  # noqa: E402 — must follow the backend choice
import numpy as np  # noqa: E402

from unheard.evaluation.confusion import LanguageConfusion  # noqa: E402

COLORS = {"seen": "#2b6cb0", "unseen": "#dd6b20", None: "#8a8a8a"}
SPLIT_NAMES = {"seen": "seen", "unseen": "unseen (zero-resource)", None: "not declared"}
# (key in metrics.json, panel title, higher is better)
PANELS = (
    ("bleu", "BLEU (ST)", True),
    ("chrf", "chrF (ST)", True),
    ("wer", "WER % (ASR, normalised)", False),
    ("per", "PER % (phones)", False),
    ("language_accuracy", "Output in the right language %", True),
)


def plot_scores_by_language(metrics: dict[str, Any], path: str | os.PathLike[str]) -> Path | None:
    """Bars per language for each metric the evaluation has, coloured seen / unseen, with each
    group's mean over its languages as a dashed line.

    Args:
        metrics: the content of metrics.json.
        path: the PNG to write.

    Returns:
        The path, or None when no language has any score.
    """
    by_language: dict[str, dict[str, Any]] = metrics["by_language"]
    order = {"seen": 0, "unseen": 1, None: 2}
    languages = sorted(by_language, key=lambda k: (order[by_language[k]["split"]], k))
    panels = [p for p in PANELS if any(by_language[k][p[0]] is not None for k in languages)]
    if not panels:
        return None
    width = max(4.5, 0.45 * len(languages) + 1.5)
    columns = 1 if len(panels) == 1 else 2  # a 2 x 2 grid keeps four panels readable
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns, 3.6 * rows + 0.6), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (key, title, higher_better) in zip(axes.flat, panels, strict=False):
        values = [by_language[k][key] for k in languages]
        x = np.arange(len(languages))
        colors = [COLORS[by_language[k]["split"]] for k in languages]
        bars = ax.bar(x, [v or 0.0 for v in values], color=colors, width=0.7)
        for bar, value in zip(bars, values, strict=True):
            label = "n/a" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"
            ax.annotate(
                label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.8},
            )  # fmt: skip
        means = []
        for split in ("seen", "unseen"):
            group = metrics.get(split)
            mean = group["macro"][key] if group else None
            if mean is not None:
                ax.axhline(mean, color=COLORS[split], linestyle="--", linewidth=1.2)
                means.append(f"{split} {mean:.1f}")
        if means:  # in a corner box, where it cannot cover a bar's label
            ax.text(
                0.01, 0.98, "mean (dashed): " + ", ".join(means), transform=ax.transAxes,
                ha="left", va="top", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9},
            )  # fmt: skip
        top = max([v for v in values if v is not None] + [1.0])
        # headroom for the value labels and the box of means
        ax.set_ylim(0, 118 if key == "language_accuracy" else top * 1.3)
        ax.set_xticks(x, languages, rotation=45 if len(languages) > 8 else 0)
        ax.set_title(f"{title}  ({'higher' if higher_better else 'lower'} is better)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
    present = sorted({by_language[k]["split"] for k in languages}, key=lambda s: order[s])
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[s]) for s in present]
    fig.legend(
        handles, [SPLIT_NAMES[s] for s in present], loc="outside upper right", ncols=len(present)
    )
    fig.suptitle("Scores per spoken language", x=0.01, ha="left", fontsize=12)
    return _save(fig, path)


def plot_language_confusion(confusion: LanguageConfusion, path: str | os.PathLike[str]) -> Path:
    """Heatmap of expected (rows) vs detected (columns) output language, coloured by the share of
    each row and annotated with counts.

    Args:
        confusion: the matrix.
        path: the PNG to write.

    Returns:
        The path.
    """
    counts = np.array(confusion.counts, dtype=float)  # (expected, detected)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    rows, cols = counts.shape
    fig, ax = plt.subplots(
        figsize=(max(4.5, 0.65 * cols + 2.5), max(3.0, 0.5 * rows + 1.8)), layout="constrained"
    )
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(rows):
        for j in range(cols):
            if counts[i, j]:
                dark = shares[i, j] > 0.55
                ax.text(
                    j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=9,
                    color="white" if dark else "black",
                    fontweight="bold" if confusion.expected[i] == confusion.detected[j] else None,
                )  # fmt: skip
    for k, label in enumerate(confusion.expected):  # frame the cells of correct output
        j = confusion.detected.index(label)
        ax.add_patch(
            plt.Rectangle((j - 0.5, k - 0.5), 1, 1, fill=False, edgecolor="#2f855a", linewidth=2)
        )
    row_labels = []
    for label, row in zip(confusion.expected, counts, strict=True):
        j = confusion.detected.index(label)
        row_labels.append(f"{label}  ({100 * row[j] / max(row.sum(), 1):.0f}% of {int(row.sum())})")
    ax.set_xticks(range(cols), confusion.detected, rotation=45 if cols > 8 else 0)
    ax.set_yticks(range(rows), row_labels)
    ax.set_xlabel("language the identifier found in the output")
    ax.set_ylabel("language the output should be in")
    accuracy = confusion.accuracy
    ax.set_title(
        f"Output language: {100 * (accuracy or 0):.1f}% right "
        f"({confusion.correct} of {confusion.total})",
        loc="left",
        fontsize=11,
    )
    fig.colorbar(image, ax=ax, label="share of the row", shrink=0.8)
    return _save(fig, path)


def plot_layer_weights(weights: Sequence[float], path: str | os.PathLike[str]) -> Path:
    """Bars of the learned weight of each encoder hidden state, against the uniform start.

    Args:
        weights: softmax-normalised weights, index 0 the embedding output.
        path: the PNG to write.

    Returns:
        The path.
    """
    n = len(weights)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.3 * n + 2), 3.6), layout="constrained")
    best = int(np.argmax(weights))
    colors = ["#2b6cb0" if i == best else "#90b4e0" for i in range(n)]
    ax.bar(range(n), weights, color=colors)
    ax.axhline(1 / n, color="#555555", linestyle="--", linewidth=1)
    ax.annotate(
        f"uniform 1/{n}", (1.0, 1 / n), xycoords=("axes fraction", "data"), ha="right",
        va="bottom", fontsize=8, color="#555555",
    )  # fmt: skip
    step = max(1, n // 12)
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, ["emb" if i == 0 else str(i) for i in ticks])
    ax.set_xlabel("encoder hidden state (emb: embedding output; n: output of layer n)")
    ax.set_ylabel("softmax weight")
    where = "the embedding output" if best == 0 else f"layer {best}"
    ax.set_title(f"Learned layer weights: most on {where} ({weights[best]:.2f})", loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path)


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
