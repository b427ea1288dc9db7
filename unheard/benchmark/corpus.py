"""The benchmark's corpus: synthesized once per output folder (`unheard.data.synth`), and refused
when the folder already holds another one (its LLM and systems were trained on that)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from unheard.benchmark.options import BenchmarkOptions


def corpus_differences(corpus: Path, options: BenchmarkOptions) -> dict[str, tuple[Any, Any]]:
    """``{option: (saved, asked for)}`` for each of kinds, size and seed in which the corpus
    already in ``corpus`` differs from ``options``; empty when it matches or is absent."""
    from unheard.data.synth.corpus import read_synth_options

    saved = read_synth_options(corpus)
    if saved is None:
        return {}
    saved["kinds"] = sorted(saved["kinds"]) if saved.get("kinds") else None
    o = options
    wanted = {"kinds": sorted(o.kinds) if o.kinds else None,
              "per_language": o.per_language, "seed": o.seed}  # fmt: skip
    return {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}


def build_corpus(corpus: Path, languages: Sequence[str], options: BenchmarkOptions) -> None:
    """Synthesize the corpus of ``options`` (its kinds, size and ``seed``) in ``languages`` into
    ``corpus`` (kept wavs are reused).

    Raises:
        ValueError: when ``corpus`` holds a corpus of other options (`corpus_differences`).
    """
    from tqdm import tqdm

    from unheard.data.synth.corpus import SynthOptions, build_synth_corpus

    synth = SynthOptions(
        languages=tuple(languages), per_language=options.per_language, kinds=options.kinds,
        seed=options.seed,
    )  # fmt: skip
    differ = corpus_differences(corpus, options)
    if differ:  # a folder of another corpus: its LLM and systems were trained on it
        raise ValueError(
            f"{corpus.parent} holds a benchmark of another corpus ({differ}, as saved vs asked "
            "for): use another --out, or ask for the same corpus"
        )
    with tqdm(desc="espeak-ng", unit="utt", disable=not options.progress) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        build_synth_corpus(corpus, synth, progress)
