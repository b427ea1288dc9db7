"""The thin end-to-end slice: espeak-ng number corpus → tiny SpeechLLM → train → save → load →
greedy decode → WER and BLEU. ``unheard demo`` runs it until the offline benchmark lands.

The slice's encoder and LLM are tiny and random (no pretrained weights here), so besides the
layer mix and adapter it trains the whole tiny LLM: it shows the plumbing end to end, not the
paper's transfer, which needs a pretrained multilingual LLM.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from unheard.build import build_speech_llm, load_tokenizer
from unheard.checkpoint import load_checkpoint, save_checkpoint
from unheard.config import ModelConfig
from unheard.data.audio import load_audio
from unheard.data.collate import Example, SpeechCollator, examples_from
from unheard.data.espeak import make_number_corpus
from unheard.data.features import feature_extractor_for
from unheard.data.manifest import read_manifest
from unheard.decoding.decode import DecodeOptions, decode
from unheard.device import device_of
from unheard.evaluation.metrics import bleu, chrf, exact_match, wer
from unheard.model.speech_llm import SpeechLLM
from unheard.tiny import make_tiny_models


@dataclass(frozen=True)
class LoopOptions:
    """A plain single-process training loop (the full recipe is ``unheard train``)."""

    steps: int = 300  # optimizer steps
    batch_size: int = 8  # examples per step
    lr: float = 3e-3  # AdamW learning rate, constant
    grad_clip: float = 1.0  # max gradient norm
    seed: int = 0  # shuffling and dropout seed
    log_every: int = 50  # steps between log lines

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"steps, batch_size and lr must be positive: {self}")


def train_steps(
    model: SpeechLLM,
    collator: SpeechCollator,
    examples: Sequence[Example],
    options: LoopOptions,
    log: Callable[[str], None] = print,
) -> list[float]:
    """Train the model's trainable parameters on ``examples``, reshuffled every epoch.

    Returns:
        The training loss of every step.
    """
    torch.manual_seed(options.seed)
    rng = random.Random(options.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=options.lr, weight_decay=0.0)
    model.train()
    order: list[int] = []
    losses = []
    started = time.perf_counter()
    for step in range(1, options.steps + 1):
        if len(order) < options.batch_size:
            epoch = list(range(len(examples)))
            rng.shuffle(epoch)
            order.extend(epoch)
        take, order = order[: options.batch_size], order[options.batch_size :]
        batch = collator([examples[i] for i in take]).to(device_of(model))
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, options.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if step % options.log_every == 0 or step == options.steps:
            recent = sum(losses[-options.log_every :]) / len(losses[-options.log_every :])
            log(f"step {step:4d}  loss {recent:.3f}  {time.perf_counter() - started:.0f}s")
    return losses


def load_examples(manifest: str | Path, tasks: Sequence[str]) -> list[Example]:
    """Read a manifest and its audio into examples of the given tasks."""
    examples = []
    for utt in read_manifest(manifest):
        audio = load_audio(utt.audio, offset=utt.offset, duration=utt.duration)
        examples.extend(examples_from(utt, audio, tasks))
    return examples


def run_slice(
    out_dir: str | Path,
    languages: Sequence[str] = ("en", "es", "de", "fr"),
    per_language: int = 12,
    encoder: str = "w2v-bert",
    llm: str = "mt5",
    options: LoopOptions | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run the slice end to end and return its scores on the training utterances.

    Args:
        out_dir: corpus, tiny models and the checkpoint go here.
        languages: espeak-ng languages of the corpus.
        per_language: utterances per language.
        encoder: tiny encoder family (``unheard.tiny.ENCODERS``).
        llm: tiny LLM kind (``unheard.tiny.LLMS``).
        options: training loop settings.
        log: where progress lines go.

    Returns:
        ``asr_wer``, ``asr_exact``, ``st_bleu``, ``st_chrf``, ``st_exact`` and ``final_loss``.
    """
    out_dir = Path(out_dir)
    options = options or LoopOptions()
    manifest = make_number_corpus(out_dir / "corpus", languages, per_language, seed=options.seed)
    examples = load_examples(manifest, ("asr", "st"))
    log(f"corpus: {manifest} — {len(examples)} examples (ASR + ST) in {', '.join(languages)}")
    texts = sorted({e.target for e in examples if e.target} | {"Transcribe the audio."})
    config = make_tiny_models(
        out_dir / "models", texts, encoder=encoder, llm=llm, seed=options.seed,
        llm_trainable=("",),  # random tiny LLM: train all of it (see the module docstring)
    )  # fmt: skip
    model, collator, tokenizer = _setup(config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"model: tiny {encoder} encoder + tiny {llm} LLM, {trainable:,} trained parameters")
    losses = train_steps(model, collator, examples, options, log)
    checkpoint = save_checkpoint(model, config, out_dir / "checkpoint")
    model, config, _ = load_checkpoint(checkpoint)
    log(f"checkpoint: {checkpoint} (reloaded for decoding)")
    hyps = decode(model, collator, tokenizer, examples, DecodeOptions(batch_size=16))
    scores = {"final_loss": sum(losses[-10:]) / len(losses[-10:])}
    for task in ("asr", "st"):
        pairs = [(e.target, h) for e, h in zip(examples, hyps, strict=True) if e.task == task]
        refs, task_hyps = [r for r, _ in pairs], [h for _, h in pairs]
        scores[f"{task}_exact"] = exact_match(refs, task_hyps)
        if task == "asr":
            scores["asr_wer"] = wer(refs, task_hyps)
        else:
            # BLEU is 0 whenever no reference has 4 words (most numbers); chrF is informative
            scores["st_bleu"] = bleu(refs, task_hyps)
            scores["st_chrf"] = chrf(refs, task_hyps)
    for e, h in list(zip(examples, hyps, strict=True))[:: max(1, len(examples) // 6)]:
        log(f"  [{e.task} {e.language}→{e.target_language}] ref {e.target!r}  hyp {h!r}")
    return scores


def _setup(config: ModelConfig) -> tuple[SpeechLLM, SpeechCollator, PreTrainedTokenizerBase]:
    model = build_speech_llm(config)
    tokenizer = load_tokenizer(config)
    extractor = feature_extractor_for(model.encoder.model.config)
    collator = SpeechCollator(tokenizer, extractor, model.is_encoder_decoder)
    return model, collator, tokenizer
