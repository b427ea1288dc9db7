"""The benchmark's hypotheses: every test set decoded in both tasks by one checkpoint, kept on
disk and reused while the checkpoint's files and the corpus stay the same (a stamp beside them)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from unheard.benchmark.options import TASKS
from unheard.files import write_atomic


def hypothesis_files(hyps: Path, languages: Sequence[str]) -> list[Path]:
    """``hyps/<task>_<language>.jsonl`` for each task and language, tasks first."""
    return [hyps / f"{task}_{lang}.jsonl" for task in TASKS for lang in languages]


def kept_hypotheses(
    hyps: Path, checkpoint: Path, corpus: Path, via_phonemes: Mapping[str, str] | None = None
) -> bool:
    """Whether ``hyps`` holds a complete decoding by these checkpoint files of this corpus,
    with ASR through phones in these languages (``via_phonemes``, as `decode_test_sets`).

    Hypotheses of anything else (another checkpoint's files — a re-exported demo checkpoint keeps
    its path —, another corpus, ASR decoded another way) are deleted; the folder is then stamped
    for this decoding.
    """
    from unheard.checkpoint import checkpoint_digest
    from unheard.data.synth.corpus import read_synth_options

    stamp = {"checkpoint": str(checkpoint), "files": checkpoint_digest(checkpoint),
             "corpus": read_synth_options(corpus)}  # fmt: skip
    if via_phonemes:  # absent otherwise: the folders of earlier rounds stay valid
        stamp["via_phonemes"] = dict(sorted(via_phonemes.items()))
    stamp_file = hyps / "stamp.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) != stamp:
        shutil.rmtree(hyps)
    hyps.mkdir(parents=True, exist_ok=True)
    write_atomic(stamp_file, json.dumps(stamp))
    return (hyps / "done.json").exists()


def decode_test_sets(
    checkpoint: Path,
    corpus: Path,
    files: Sequence[Path],
    encoder_cache: Path | None = None,
    progress: bool = True,
    via_phonemes: Mapping[str, str] | None = None,
) -> None:
    """Decode ``corpus``'s test manifest of each file's task and language into it, then mark the
    folder complete (``done.json``; `kept_hypotheses`).

    Args:
        checkpoint: the system's checkpoint.
        corpus: the synthetic corpus folder (``unheard-synth_<lang>_test.jsonl.gz``).
        files: from `hypothesis_files`, all in one folder.
        encoder_cache: the encoder-output cache directory the training runs share, if any; it
            is read in the dtype they wrote it in (their ``run.encoder_cache_dtype``).
        progress: progress bars.
        via_phonemes: the languages whose ASR goes through phones, and how (``two-pass`` or
            ``one-pass``, `unheard.decoding.phoneme_bridge`); the others' directly.
    """
    from unheard.checkpoint import load_decoder
    from unheard.decoding.decode_manifest import decode_manifest
    from unheard.encoder_cache import EncoderCacheOptions, cache_encoder

    model, collator, tokenizer = load_decoder(checkpoint)
    if encoder_cache is not None:
        cache_encoder(model, EncoderCacheOptions.for_directory(encoder_cache))
    for path in files:
        task, lang = path.stem.split("_")
        manifest = corpus / f"unheard-synth_{lang}_test.jsonl.gz"
        bridge = (via_phonemes or {}).get(lang) if task == "asr" else None
        decode_manifest(
            model, collator, tokenizer, manifest, task, path, progress=progress,
            via_phonemes=bridge,
        )  # fmt: skip
    write_atomic(files[0].parent / "done.json", json.dumps({"checkpoint": str(checkpoint)}))
