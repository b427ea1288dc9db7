"""The LLM's own text ability, probed few-shot: a pretrained LLM (Gemma) reads plain text with a
few worked examples before the question, as LLMs are evaluated, not the speech prompts it was
never taught (`text_probe` probes those, with the text where the audio goes).

Two tasks per language, on the corpus's test text, the examples drawn from its training text:

- translate: ``Catalan: mil nou-cents vint-i-un\\nEnglish: nineteen twenty-one`` × shots, then
  the item's line and ``English:``, scored against the corpus's English;
- copy: ``Catalan: … \\nCatalan again: …`` (the same text), scored against the text itself: an
  LLM that cannot repeat a language's text cannot write its transcripts either.

The paper's third finding is that zero-resource ASR and ST are bounded by the LLM's own ability in
the language; this measures that ability before any speech training (the stage-1 checkpoint,
whose LLM is the pretrained one) and after LoRA (a stage-2 checkpoint: the same prompts through
the LLM with its LoRA).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from unheard.benchmark.text_probe import ENGLISH, cached_probe, exact_percent
from unheard.data.prompts import language_name
from unheard.data.synth.parallel_text import ParallelText, parallel_text_path, read_parallel_text
from unheard.evaluation.metrics import bleu

# what a probe scores; a cached probe of other scores is redone
FEW_SHOT_SCORES = ("bleu", "exact", "copy")
TASKS = ("translate", "copy")


def few_shot_prompt(
    task: str, language: str, shots: Sequence[ParallelText], query: ParallelText
) -> str:
    """The plain-text prompt of one item: ``shots`` worked examples, then the query's line and
    the answer's label (the LLM writes the rest of that line).

    Raises:
        ValueError: for a task other than translate or copy.
    """
    if task not in TASKS:
        raise ValueError(f"few-shot task must be one of {TASKS}, got {task!r}")
    source = language_name(language)
    label = "English" if task == "translate" else f"{source} again"

    def answer(r: ParallelText) -> str:
        return r.translation if task == "translate" else r.text

    blocks = [f"{source}: {r.text}\n{label}: {answer(r)}" for r in shots]
    return "\n\n".join([*blocks, f"{source}: {query.text}\n{label}:"])


@torch.no_grad()
def generate_lines(
    llm: Any, tokenizer: Any, prompts: Sequence[str], batch_size: int = 16, max_new_tokens: int = 32
) -> list[str]:
    """Greedy continuations of plain-text prompts, each cut at its first line break.

    Args:
        llm: a ``transformers`` model with ``generate`` (decoder-only: prompts padded on the left).
        tokenizer: its tokenizer.
        prompts: the prompts.
        batch_size: prompts per ``generate`` call.
        max_new_tokens: the longest continuation.
    """
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = []
    for i in range(0, len(prompts), batch_size):
        # padded on the left: a decoder-only model continues from the last position
        enc = tokenizer(
            list(prompts[i : i + batch_size]), return_tensors="pt", padding=True,
            padding_side="left",
        )  # fmt: skip
        ids = llm.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
        texts = tokenizer.batch_decode(ids[:, enc.input_ids.shape[1] :], skip_special_tokens=True)
        out += [t.strip().split("\n")[0].strip() for t in texts]
    return out


def few_shot_probe(
    llm: Any,
    tokenizer: Any,
    corpus: str | Path,
    languages: Sequence[str],
    per_language: int = 50,
    shots: int = 4,
    batch_size: int = 16,
) -> dict[str, dict[str, float]]:
    """Few-shot translation into English and copying of the first ``per_language`` test items of
    each language, with the first ``shots`` items of its training text as examples.

    Returns:
        ``{language: {"bleu": corpus BLEU of the translations, "exact": their exact match %,
        "copy": exact match % of the copies, "n": items}}`` (normalised as every score is).

    Raises:
        ValueError: when a language has no test text or fewer training items than ``shots``.
    """
    scores = {}
    for language in languages:
        test = read_parallel_text(parallel_text_path(corpus, language, "test"))[:per_language]
        train = read_parallel_text(parallel_text_path(corpus, language, "train"))[:shots]
        if not test or len(train) < shots:
            raise ValueError(
                f"{corpus}: {language!r} needs test text and {shots} training items for a "
                f"{shots}-shot probe (found {len(test)} and {len(train)})"
            )
        answers = {
            task: generate_lines(
                llm, tokenizer, [few_shot_prompt(task, language, train, r) for r in test],
                batch_size,
            )
            for task in TASKS
        }  # fmt: skip
        refs = [r.translation for r in test]
        scores[language] = {
            "bleu": round(bleu(refs, answers["translate"]), 2),
            "exact": exact_percent(refs, answers["translate"], ENGLISH),
            "copy": exact_percent([r.text for r in test], answers["copy"], language),
            "n": len(test),
        }
    return scores


def checkpoint_few_shot_probe(
    checkpoint: str | Path, corpus: str | Path, languages: Sequence[str], per_language: int = 50
) -> dict[str, dict[str, float]]:
    """`few_shot_probe` of a checkpoint's LLM: as pretrained when the checkpoint has no LoRA
    (stage 1), with its LoRA otherwise."""
    from unheard.checkpoint import load_decoder

    model, _, tokenizer = load_decoder(checkpoint)
    return few_shot_probe(model.llm, tokenizer, corpus, languages, per_language)


def cached_few_shot_probe(
    out: Path, checkpoint: Path, corpus: Path, languages: Sequence[str], per_language: int = 50
) -> dict[str, Any]:
    """`checkpoint_few_shot_probe`, written to ``out`` (JSON) and read back while the
    checkpoint's files are the same (`cached_probe`)."""
    return cached_probe(
        out, checkpoint, per_language, FEW_SHOT_SCORES,
        lambda: checkpoint_few_shot_probe(checkpoint, corpus, languages, per_language),
    )  # fmt: skip
