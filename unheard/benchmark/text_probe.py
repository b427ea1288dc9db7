"""The LLM's own text probe: how well a trained system translates *text* of each language into
English, and copies it, when the source text's token embeddings stand where the audio would be
(the text-only ``translate`` task, and the ``asr`` task's prompt with the text for the audio, each
in its test prompt).

Issue 9's question is whether text-only training in an unseen language lifts this probe, and
what that does to speech in the language; the paper's third finding is that zero-resource ASR
and ST are bounded by it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from unheard.data.collate import TextExample
from unheard.data.synth.parallel_text import parallel_text_path, read_parallel_text
from unheard.evaluation.metrics import bleu, exact_match
from unheard.evaluation.normalizers import normalize
from unheard.files import write_atomic

ENGLISH = "en"
# what a probe scores; a cached probe of other scores (before copying was probed) is redone
PROBE_SCORES = ("bleu", "exact", "copy")


def text_probe(
    checkpoint: str | Path,
    corpus: str | Path,
    languages: Sequence[str],
    per_language: int = 50,
    split: str = "test",
    batch_size: int = 16,
) -> dict[str, dict[str, float]]:
    """Greedy text translation into English of the first ``per_language`` items of each
    language's ``split`` text, scored against the corpus's English; and greedy copying of the same
    items under the transcribe prompt (the text where the audio goes), scored against the text:
    what an ASR answer in the language needs the LLM to write.

    Returns:
        ``{language: {"bleu": corpus BLEU, "exact": exact match after normalisation, "copy": exact
        match of the copies after normalisation, "n": items}}`` (English text is "translated" into
        itself: the copy the model learned).
    """
    from unheard.checkpoint import load_decoder
    from unheard.decoding.decode import decode_text

    model, collator, tokenizer = load_decoder(checkpoint)
    scores = {}
    for language in languages:
        records = read_parallel_text(parallel_text_path(corpus, language, split))[:per_language]
        if not records:
            raise ValueError(f"no {split} text of {language!r} in {corpus}")
        examples = [
            TextExample(r.id, r.text, "translate", language, ENGLISH, None) for r in records
        ]
        hyps = decode_text(model, collator, tokenizer, examples, batch_size)
        refs = [r.translation for r in records]
        copies = decode_text(
            model, collator, tokenizer,
            [TextExample(r.id, r.text, "asr", language, language, None) for r in records],
            batch_size,
        )  # fmt: skip
        scores[language] = {
            "bleu": round(bleu(refs, hyps), 2),
            "exact": exact_percent(refs, hyps, ENGLISH),
            "copy": exact_percent([r.text for r in records], copies, language),
            "n": len(records),
        }
    return scores


def exact_percent(references: Sequence[str], hypotheses: Sequence[str], language: str) -> float:
    """Exact match in %, after normalisation in ``language``."""
    pairs = [(normalize(r, language), normalize(h, language)) for r, h in zip(references, hypotheses, strict=True)]  # fmt: skip
    return round(100 * exact_match(*zip(*pairs, strict=True)), 1)


def cached_text_probe(
    out: Path, checkpoint: Path, corpus: Path, languages: Sequence[str], per_language: int = 50
) -> dict[str, Any]:
    """`text_probe`, written to ``out`` (JSON) and read back while the checkpoint's files are the
    same (by content: a folder trained anew under the same path is probed anew)."""
    return cached_probe(
        out, checkpoint, per_language, PROBE_SCORES,
        lambda: text_probe(checkpoint, corpus, languages, per_language),
    )  # fmt: skip


def cached_probe(
    out: Path,
    checkpoint: Path,
    per_language: int,
    scored: Sequence[str],
    probe: Callable[[], dict[str, dict[str, float]]],
) -> dict[str, Any]:
    """A probe's scores of a checkpoint, computed by ``probe`` once and kept in ``out`` (JSON):
    read back while the checkpoint's files (by content), the items per language and the scores
    are the same."""
    from unheard.checkpoint import checkpoint_digest

    key = {"checkpoint": str(checkpoint), "digest": checkpoint_digest(checkpoint),
           "per_language": per_language, "scored": list(scored)}  # fmt: skip
    if out.is_file():
        saved = json.loads(out.read_text())
        if all(saved.get(k) == v for k, v in key.items()):
            return saved["scores"]
    scores = probe()
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps({**key, "scores": scores}, indent=2) + "\n")
    return scores


def text_probe_table(
    probes: dict[str, dict[str, dict[str, float]]], seen: Sequence[str], unseen: Sequence[str]
) -> str:
    """Markdown: one row per system, per language ``BLEU / exact %`` of the text probe, then
    ``/ copy %`` where it was probed."""
    languages = [*seen, *unseen]
    head = ["system", *[f"{x}{' (unseen)' if x in unseen else ''}" for x in languages]]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(languages)]
    for system, scores in probes.items():
        cells = [
            f"{scores[x]['bleu']:.1f} / {scores[x]['exact']:.0f}"
            + (f" / {scores[x]['copy']:.0f}" if "copy" in scores[x] else "")
            for x in languages
        ]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
