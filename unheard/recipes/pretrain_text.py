"""Text-only pretraining of a small mT5 (``MT5ForConditionalGeneration``) for the offline
benchmark's *mini* track: it stands in for mT0's multilingual knowledge at a size this CPU trains.

Two tasks, mixed: translation of every language into English (``translate to English: …``) and
T5 span-corruption denoising in every language, the unseen ones included (text in them is
allowed; paired audio is not). The model and its SentencePiece tokenizer are written with
``save_pretrained``, so a SpeechLLM config loads them exactly as it would load ``bigscience/mt0-xl``.
"""

from __future__ import annotations

import glob
import json
import math
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import MT5Config, MT5ForConditionalGeneration, PreTrainedTokenizerBase

from unheard.recipes.state import (
    optimizer_from_flat,
    optimizer_to_flat,
    python_rng_from_json,
    python_rng_to_json,
)
from unheard.tiny import train_tokenizer

TRANSLATE = "translate to English: "
SENTINELS = 32  # <extra_id_0..31>


@dataclass(frozen=True)
class TextPretrainOptions:
    """Model size, tasks and schedule of the text pretraining."""

    vocab_size: int = 2000  # SentencePiece pieces (lowered to what the text allows)
    d_model: int = 256
    d_ff: int = 1024
    layers: int = 4  # encoder and decoder each
    heads: int = 4
    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3  # AdamW peak, linear warmup then cosine decay
    warmup_steps: int = 200
    denoise_share: float = 0.4  # share of denoising examples; the rest is translation
    noise_density: float = 0.15  # share of tokens masked by span corruption
    mean_span: float = 3.0  # mean masked span length in tokens
    dropout: float = 0.0  # off: a short run on a small corpus is under-fitted, not over-fitted
    # bf16 autocast: off, because on this 2-core CPU it made this small model's steps 17x slower
    # (10.2 vs 0.59 s/step, batch 32), although large bf16 matmuls run 2.3x the fp32 rate
    bf16: bool = False
    eval_per_language: int = 50  # held-out items per language for the translation probe
    save_every: int = 250  # steps between resumable checkpoints (out/checkpoint)
    probe_every: int = 500  # steps between quick translation probes (10 items/language; 0: off)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.denoise_share <= 1:
            raise ValueError(f"denoise_share must be in [0, 1], got {self.denoise_share}")
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("steps, batch_size and lr must be positive")


def read_text(patterns: Sequence[str]) -> list[dict[str, Any]]:
    """Parallel text records (``language``, ``text``, ``translation``) from JSONL files/globs.

    Raises:
        FileNotFoundError: for a pattern that matches nothing.
    """
    records = []
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not paths or not Path(paths[0]).exists():
            raise FileNotFoundError(f"no text file matches {pattern!r}")
        for path in paths:
            with open(path, encoding="utf-8") as f:
                records.extend(json.loads(line) for line in f if line.strip())
    return records


def span_corrupt(
    ids: list[int], sentinels: list[int], rng: random.Random, density: float, mean_span: float
) -> tuple[list[int], list[int]]:
    """T5 span corruption of one token sequence.

    Returns:
        ``(input_ids, target_ids)``: the input with each masked span replaced by a sentinel, and
        the target listing each sentinel followed by the tokens it replaced, then a final
        sentinel (no EOS; the caller adds it).
    """
    n = len(ids)
    masked = max(1, round(n * density))
    spans = max(1, min(len(sentinels) - 1, round(masked / mean_span), masked))
    # split `masked` tokens into `spans` spans and the rest into spans + 1 gaps, at random
    lengths = _partition(masked, spans, rng)
    gaps = _partition(n - masked, spans + 1, rng, allow_zero=True)
    inputs, targets, pos = [], [], 0
    for i in range(spans):
        inputs += ids[pos : pos + gaps[i]]
        pos += gaps[i]
        inputs.append(sentinels[i])
        targets += [sentinels[i], *ids[pos : pos + lengths[i]]]
        pos += lengths[i]
    inputs += ids[pos:]
    targets.append(sentinels[spans])
    return inputs, targets


def _partition(total: int, parts: int, rng: random.Random, allow_zero: bool = False) -> list[int]:
    if allow_zero:
        cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    if total < parts:
        return [1] * total + [0] * (parts - total)
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def pretrain_text(
    train: Sequence[str],
    dev: Sequence[str],
    out_dir: str | Path,
    options: TextPretrainOptions | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the tokenizer and the small mT5, evaluate the translation probe, save.

    Args:
        train: text JSONL files or globs (records with language, text, translation).
        dev: held-out text files for the probe (never trained on).
        out_dir: ``model/`` (``save_pretrained``) and ``metrics.json`` go here.
        options: size and schedule.
        log: where progress lines go.

    Returns:
        The metrics: per-language exact-match of greedy translation into English on ``dev``.
    """
    options = options or TextPretrainOptions()
    out = Path(out_dir)
    rng = random.Random(options.seed)
    torch.manual_seed(options.seed)
    records = read_text(train)
    held_out = read_text(dev) if dev else []
    texts = [r["text"] for r in records] + [r["translation"] for r in records]
    tokenizer = train_tokenizer(
        [*texts, TRANSLATE], out / "model", options.vocab_size, extra_ids=SENTINELS
    )
    sentinels = tokenizer.convert_tokens_to_ids([f"<extra_id_{i}>" for i in range(SENTINELS)])
    config = MT5Config(
        vocab_size=len(tokenizer), d_model=options.d_model, d_ff=options.d_ff, d_kv=64,
        num_heads=options.heads, num_layers=options.layers, num_decoder_layers=options.layers,
        feed_forward_proj="gated-gelu", decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        dropout_rate=options.dropout,
    )  # fmt: skip
    model = MT5ForConditionalGeneration(config)
    # mT5's untied lm_head is initialised with std 1.0, i.e. logits of std ~sqrt(d_model) and a
    # first loss of ~20 nats; scaling it as a tied head would be (d_model**-0.5) starts near
    # log(vocab) and saved ~300 of the first 1,200 steps in our runs
    torch.nn.init.normal_(model.lm_head.weight, std=options.d_model**-0.5)
    params = sum(p.numel() for p in model.parameters())
    log(
        f"text pretraining: {len(records)} records, vocab {len(tokenizer)}, mT5 {params / 1e6:.1f}M"
    )
    encoded = [
        (tokenizer(TRANSLATE + r["text"]).input_ids, tokenizer(r["translation"]).input_ids,
         tokenizer(r["text"], add_special_tokens=False).input_ids)
        for r in records
    ]  # fmt: skip
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=0.01)
    schedule = _warmup_cosine(options.warmup_steps, options.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    first = 1 + _resume(out / "checkpoint", model, optimizer, scheduler, rng, options, log)
    model.train()
    started, recent = time.perf_counter(), []
    for step in range(first, options.steps + 1):
        pairs = []
        for _ in range(options.batch_size):
            src, tgt, plain = encoded[rng.randrange(len(encoded))]
            if rng.random() < options.denoise_share and len(plain) >= 2:
                corrupted, spans = span_corrupt(
                    plain, sentinels, rng, options.noise_density, options.mean_span
                )
                pairs.append(
                    ([*corrupted, tokenizer.eos_token_id], [*spans, tokenizer.eos_token_id])
                )
            else:
                pairs.append((src, tgt))
        batch = _pad(pairs, tokenizer.pad_token_id)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=options.bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        recent.append(loss.item())
        if step % 100 == 0 or step == options.steps:
            rate = (time.perf_counter() - started) / (step - first + 1)
            log(f"step {step}/{options.steps}  loss {sum(recent) / len(recent):.3f}  "
                f"{rate:.2f} s/step  eta {rate * (options.steps - step) / 60:.1f} min")  # fmt: skip
            recent = []
        if step % options.save_every == 0 and step < options.steps:
            _save_state(out / "checkpoint", step, model, optimizer, scheduler, rng, options)
        if options.probe_every and held_out and step % options.probe_every == 0:
            log(f"step {step} probe: {translation_probe(model, tokenizer, held_out, 10)}")
            model.train()
    model.save_pretrained(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))
    shutil.rmtree(out / "checkpoint", ignore_errors=True)  # finished: the model is the result
    metrics = {
        "options": asdict(options),
        "parameters": params,
        "minutes": (time.perf_counter() - started) / 60,
    }
    if held_out:
        metrics["translation_exact_match"] = translation_probe(
            model, tokenizer, held_out, options.eval_per_language
        )
        log(f"held-out translation exact match: {metrics['translation_exact_match']}")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


@torch.no_grad()
def translation_probe(
    model: MT5ForConditionalGeneration,
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[dict[str, Any]],
    per_language: int = 50,
    batch_size: int = 32,
) -> dict[str, float]:
    """Exact-match accuracy of greedy ``translate to English:`` per language.

    Returns:
        ``{language: share of items translated exactly}``.
    """
    model.eval()
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if len(by_language[r["language"]]) < per_language:
            by_language[r["language"]].append(r)
    scores = {}
    for language, items in sorted(by_language.items()):
        right = 0
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            enc = tokenizer(
                [TRANSLATE + r["text"] for r in chunk], return_tensors="pt", padding=True
            )
            out = model.generate(**enc, max_new_tokens=48, do_sample=False)
            hyps = tokenizer.batch_decode(out, skip_special_tokens=True)
            right += sum(
                h.strip() == r["translation"].strip() for h, r in zip(hyps, chunk, strict=True)
            )
        scores[language] = round(right / len(items), 3)
    return scores


def _save_state(
    directory: Path,
    step: int,
    model: MT5ForConditionalGeneration,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rng: random.Random,
    options: TextPretrainOptions,
) -> None:
    # model, optimizer (safetensors + JSON, no pickle), scheduler, both RNGs and the step,
    # written beside and renamed: a killed run resumes from the last whole checkpoint
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tensors, meta = optimizer_to_flat(optimizer)
    tensors["torch_rng"] = torch.get_rng_state()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    state = {
        "step": step, "optimizer": meta, "scheduler": scheduler.state_dict(),
        "python_rng": python_rng_to_json(rng.getstate()), "options": asdict(options),
    }  # fmt: skip
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)


def _resume(
    directory: Path,
    model: MT5ForConditionalGeneration,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rng: random.Random,
    options: TextPretrainOptions,
    log: Callable[[str], None],
) -> int:
    """Load the last checkpoint into the objects; returns its step (0 when there is none)."""
    if not (directory / "state.json").is_file():
        return 0
    state = json.loads((directory / "state.json").read_text())
    saved, now = _training_options(state["options"]), _training_options(asdict(options))
    if saved != now:
        raise ValueError(
            f"{directory} was written with other options; delete it to start over "
            f"(saved {saved}, now {now})"
        )
    loaded = MT5ForConditionalGeneration.from_pretrained(str(directory))
    model.load_state_dict(loaded.state_dict())
    tensors = load_file(str(directory / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("torch_rng"))
    optimizer.load_state_dict(optimizer_from_flat(tensors, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    rng.setstate(python_rng_from_json(state["python_rng"]))
    log(f"resumed from {directory} at step {state['step']}")
    return int(state["step"])


def _training_options(options: dict[str, Any]) -> dict[str, Any]:
    # what changes the trained model; checkpoint and probe cadence may differ on resume
    return {k: v for k, v in options.items() if k not in ("save_every", "probe_every")}


def _pad(pairs: list[tuple[list[int], list[int]]], pad: int) -> dict[str, torch.Tensor]:
    width_in = max(len(a) for a, _ in pairs)
    width_out = max(len(b) for _, b in pairs)
    ids = torch.full((len(pairs), width_in), pad)
    mask = torch.zeros((len(pairs), width_in), dtype=torch.long)
    labels = torch.full((len(pairs), width_out), -100)
    for i, (a, b) in enumerate(pairs):
        ids[i, : len(a)] = torch.tensor(a)
        mask[i, : len(a)] = 1
        labels[i, : len(b)] = torch.tensor(b)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor
