"""Paper-shaped training steps for ``benchmarks/gpu.py`` (parts b and c): step time, throughput,
model FLOPs utilisation and peak memory against ``unheard plan``'s estimate.

The models are built from configs with random weights (no download): w2v-BERT 2.0 -> adapter ->
mT0-xl / mT0-xxl + LoRA (the presets), and w2v-BERT 2.0 -> Gemma 3 1B + LoRA
(``configs/paper/gemma3-1b-stage2.yaml``). ``--quick`` shrinks each to a few layers of width 64
of the same families, so that every code path runs on a CPU.

Model FLOPs of one training step (recomputation by gradient checkpointing is not counted: that
is what makes it *model* FLOPs utilisation), with B utterances, F encoder frames, A audio tokens
after the adapter and T_s tokens through each LLM stack s (mT0: encoder = A + prompt, decoder =
answer; Gemma: prompt + A + answer):

    2 N_enc B F          frozen encoder, forward only (no autograd)
  + 6 N_adapter B A      trained adapter: forward 2, input and weight gradients 2 + 2
  + sum_s (4 N_s + 6 N_lora,s) T_s
                         frozen LLM weights: forward 2 and activation gradients 2 per weight and
                         token (no weight gradients); LoRA weights also get weight gradients
  + 4 N_head B answer    the output projection, on answer positions only

N counts every weight of a part except the input embedding table (a lookup). Attention scores
(QK^T and AV, ~4 L d T^2 forward) are left out of the formula; torch's FlopCounterMode, run on
one step without checkpointing, counts them with everything else, and its ratio to the formula
is reported beside it.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from unheard.build import build_speech_llm
from unheard.config import ModelConfig
from unheard.data.collate import Example, SpeechCollator, token_ids
from unheard.data.features import feature_extractor_for
from unheard.encoders import SAMPLE_RATE
from unheard.model.lora import is_lora_parameter
from unheard.plan import GIB, count_parameters, plan, shape_of
from unheard.presets import PRESETS
from unheard.recipes.train_config import load_train_config

REPO = Path(__file__).resolve().parents[1]
# bf16 dense tensor-core peak of the SXM boards (NVIDIA's datasheets, without sparsity)
PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}
DIGITS = {  # spoken digits per language: transcripts (and, in English, translations)
    "en": "zero one two three four five six seven eight nine".split(),
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve".split(),
    "de": "null eins zwei drei vier fünf sechs sieben acht neun".split(),
    "fr": "zéro un deux trois quatre cinq six sept huit neuf".split(),
}


@dataclass(frozen=True)
class Shape:
    """One model to measure."""

    name: str
    config: ModelConfig
    batch: int  # utterances tried first (halved on OOM)
    audio_s: float  # every utterance this long
    adapter: int | None = None  # the paper's parameter counts, checked when given
    lora: int | None = None


def paper_shapes(quick: bool, batch: int) -> dict[str, Shape]:
    """The models of parts b and c: real shapes, or (``quick``) small ones of the same families."""
    gemma = load_train_config(REPO / "configs" / "paper" / "gemma3-1b-stage2.yaml").model
    shapes = {
        "mt0-xl": Shape("mt0-xl", PRESETS["paper-mt0-xl"], batch, 15.0, 18_878_464, 9_437_184),
        "mt0-xxl": Shape("mt0-xxl", PRESETS["paper-mt0-xxl"], batch, 15.0, 62_922_752, 18_874_368),
        "gemma3-1b": Shape("gemma3-1b", gemma, batch, 15.0),
    }
    if not quick:
        return shapes
    small_encoder = {"model_type": "wav2vec2-bert", "hidden_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "intermediate_size": 128,
                     "conv_depthwise_kernel_size": 5}  # fmt: skip
    small_llm = {
        "mt5": {"d_model": 64, "d_ff": 128, "d_kv": 16, "num_heads": 4, "num_layers": 2,
                "num_decoder_layers": 2, "vocab_size": 512},
        "gemma3_text": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16,
                        "vocab_size": 512, "sliding_window": 64},
    }  # fmt: skip
    out = {}
    for name, shape in shapes.items():
        llm = {**shape.config.llm_config, **small_llm[shape.config.llm_config["model_type"]]}
        config = replace(shape.config, encoder_config=small_encoder, llm_config=llm)
        out[name] = replace(shape, config=config, audio_s=3.0, adapter=None, lora=None)
    return out


def tone_audio(digits: list[int], voice: int, rng: np.random.Generator) -> np.ndarray:
    """Speech-like test audio: a 0.25 s tone per digit (pitch by digit, timbre by ``voice``),
    50 ms gaps, a little noise. float32 at 16 kHz."""
    t = np.arange(SAMPLE_RATE // 4) / SAMPLE_RATE
    parts = []
    for d in digits:
        f0 = 220.0 * 2 ** (d / 6)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, voice + 2))
        parts += [tone * np.hanning(len(t)), np.zeros(SAMPLE_RATE // 20)]
    audio = np.concatenate(parts)
    audio = 0.3 * audio / np.abs(audio).max() + 0.01 * rng.standard_normal(len(audio))
    return audio.astype(np.float32)


def examples_of(
    n: int, seconds: float, answer_tokens: int, tokenizer: Any, seed: int = 0
) -> list[Example]:
    """``n`` examples of exactly ``seconds`` of tone audio, ASR and ST alternating, with answers
    of ``answer_tokens`` tokens (EOS included)."""
    rng = np.random.default_rng(seed)
    languages = list(DIGITS)
    out = []
    for i in range(n):
        language = languages[i % len(languages)]
        samples = round(seconds * SAMPLE_RATE)
        digits = list(rng.integers(0, 10, size=math.ceil(seconds / 0.3) + 1))
        audio = np.resize(tone_audio(digits, i % 4, rng), samples)
        task, words = ("asr", DIGITS[language]) if i % 2 == 0 else ("st", DIGITS["en"])
        answer: list[str] = []
        while len(token_ids(tokenizer, " ".join(answer))) < answer_tokens - 1:
            answer.append(words[int(rng.integers(10))])
        target = language if task == "asr" else "en"
        out.append(Example(f"{language}-{i}", audio, task, language, target, " ".join(answer)))
    return out


def step_flops(model: Any, shape: Any, audio_tokens: int) -> dict[str, float]:
    """The module docstring's model FLOPs of one training step on a batch of ``shape``."""
    b = shape.batch_size
    frames = math.ceil(shape.audio_seconds * 1000 / model.encoder.frame_ms)  # as plan()
    counts = count_parameters(model)
    llm = model.llm
    if model.is_encoder_decoder:
        tokens = {"encoder": b * (audio_tokens + shape.prompt_tokens), "decoder": b * shape.answer_tokens}  # fmt: skip
    else:
        tokens = {"decoder": b * (audio_tokens + shape.prompt_tokens + shape.answer_tokens)}
    embed, head = llm.get_input_embeddings().weight, llm.get_output_embeddings().weight
    stacks = 0.0
    for name, p in llm.named_parameters():  # a tied head appears once, as the embedding
        if p is head or p is embed:
            continue
        stack = "encoder" if model.is_encoder_decoder and name.startswith("encoder.") else "decoder"
        stacks += (6 if is_lora_parameter(name) else 4) * p.numel() * tokens[stack]
    parts = {
        "encoder": 2.0 * counts["encoder"] * b * frames,
        "adapter": 6.0 * counts["adapter"] * b * audio_tokens,
        "llm": stacks + 4.0 * head.numel() * b * shape.answer_tokens,
    }
    parts["total"] = sum(parts.values())
    return parts


class SimulatedOOM(torch.OutOfMemoryError):
    """``--quick``: a batch over the limit fails as CUDA would, to run the halving path."""


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def train_steps(
    model: Any, batch: Any, optimizer: Any, autocast: bool, steps: int, sync: Any
) -> tuple[float, list[float]]:
    """``steps`` optimizer steps on the same batch (the recipe's: autocast forward, backward,
    clip, AdamW); mean seconds per step and the losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    losses = []
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        with torch.autocast(batch.device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    sync()
    return (time.perf_counter() - started) / steps, [float(x) for x in losses]


def measure_shape(shape: Shape, tokenizer: Any, device: torch.device, opts: Any) -> dict:
    """Build ``shape`` and time training steps with gradient checkpointing off and on, each at
    the largest batch (from ``shape.batch``, halving on OOM) that fits.

    Args:
        shape: the model and batch.
        tokenizer: any tokenizer whose ids fit the LLM's vocabulary.
        device: where to run.
        opts: ``steps``, ``warmup``, ``peak_tflops`` (None: no MFU), ``simulate_oom_above``.

    Returns:
        Parameter counts, build time and one row per checkpointing setting.
    """
    cuda = device.type == "cuda"
    config = shape.config if cuda else replace(shape.config, dtype="float32")  # no CPU bf16 here
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    started = time.perf_counter()
    torch.manual_seed(0)
    model = build_speech_llm(config, weights=False, device=device).train()
    model.answer_logits_only = True  # as the recipe
    sync()
    counts = count_parameters(model)
    result: dict[str, Any] = {"params": counts, "build_s": time.perf_counter() - started,
                              "dtype": config.dtype, "autocast_bf16": cuda, "rows": []}  # fmt: skip
    if shape.adapter is not None:
        result["paper_counts_match"] = (counts["adapter"], counts["lora"]) == (shape.adapter, shape.lora)  # fmt: skip
    collator = SpeechCollator(
        tokenizer, feature_extractor_for(model.encoder.model.config), model.is_encoder_decoder
    )
    examples = examples_of(shape.batch, shape.audio_s, 64, tokenizer)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=1e-4)
    counted: dict[int, float] = {}  # batch size -> FlopCounterMode's count
    for checkpointing in (False, True):
        if checkpointing:
            model.llm.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        size = shape.batch
        while True:
            batch = collator(examples[:size]).to(device)
            try:
                if opts.simulate_oom_above and size > opts.simulate_oom_above:
                    raise SimulatedOOM(f"simulated: batch {size} > {opts.simulate_oom_above}")
                if not checkpointing and size not in counted:
                    with FlopCounterMode(display=False) as counter:
                        train_steps(model, batch, optimizer, cuda, 1, sync)
                    counted[size] = counter.get_total_flops()
                train_steps(model, batch, optimizer, cuda, opts.warmup, sync)
                if cuda:
                    torch.cuda.reset_peak_memory_stats(device)
                step_s, losses = train_steps(model, batch, optimizer, cuda, opts.steps, sync)
                break
            except torch.OutOfMemoryError:
                pass  # freed below, outside the handler: its traceback holds the step's tensors
            del batch
            optimizer.zero_grad(set_to_none=True)
            free_memory()
            if size == 1:
                raise RuntimeError(f"{shape.name}: even one utterance is out of memory")
            print(f"    {shape.name}: batch {size} is out of memory; halving", flush=True)
            size //= 2
        batch_shape = shape_of(batch)
        estimate = plan(model, config, batch_shape)
        flops = step_flops(model, batch_shape, estimate["batch"]["audio_tokens"])
        peak = torch.cuda.max_memory_allocated(device) / GIB if cuda else None
        tflops = flops["total"] / step_s / 1e12
        result["rows"].append({
            "gradient_checkpointing": checkpointing, "batch": size, "audio_s": shape.audio_s,
            "prompt_tokens": batch_shape.prompt_tokens, "answer_tokens": batch_shape.answer_tokens,
            "audio_tokens": estimate["batch"]["audio_tokens"], "step_s": step_s,
            "audio_s_per_s": batch.audio_seconds / step_s,
            "answer_tokens_per_s": batch.answer_tokens / step_s,
            "flops": flops, "flops_counted": counted.get(size),
            "counted_over_formula": counted[size] / flops["total"] if size in counted else None,
            "tflops_per_s": tflops,
            "mfu": tflops / opts.peak_tflops if opts.peak_tflops else None,
            "peak_gib": peak, "plan_gib": estimate["memory_gib"]["total"],
            "plan_parts_gib": estimate["memory_gib"],
            "peak_over_plan": peak / estimate["memory_gib"]["total"] if peak else None,
            "losses": losses, "finite": all(math.isfinite(x) for x in losses),
        })  # fmt: skip
        del batch
        free_memory()
    del model, optimizer
    free_memory()
    return result


def shape_table(name: str, result: dict) -> list[str]:
    """Printable rows of one model's measurement (n/a: needs CUDA or a known peak)."""

    def cell(value: float | None, spec: str, width: int) -> str:
        return f"{'n/a' if value is None else format(value, spec):>{width}}"

    lines = []
    for r in result["rows"]:
        lines.append(
            f"  {name:<10}{r['batch']:>4} x {r['audio_s']:>4.1f} s "
            f"{'on' if r['gradient_checkpointing'] else 'off':>4}{r['step_s']:>8.3f}"
            f"{r['audio_s_per_s']:>10.1f}{r['answer_tokens_per_s']:>10.0f}"
            f"{r['tflops_per_s']:>9.2f}{cell(r['mfu'], '.1%', 7)}"
            f"{cell(r['counted_over_formula'], '.2f', 7)}{cell(r['peak_gib'], '.1f', 9)}"
            f"{r['plan_gib']:>9.1f}{cell(r['peak_over_plan'], '.2f', 7)}"
        )
    return lines


SHAPE_HEADER = (
    f"  {'model':<10}{'batch':>13} {'GC':>4}{'step s':>8}{'audio-s/s':>10}{'ans tok/s':>10}"
    f"{'TFLOP/s':>9}{'MFU':>7}{'cnt/f':>7}{'peak GiB':>9}{'plan GiB':>9}{'p/plan':>7}"
)
