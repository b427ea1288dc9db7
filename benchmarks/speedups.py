"""The real-LLM track's CPU speed-ups, measured side by side in one run on real weights:
Whisper base → adapter → Gemma 3 270M (the packaged copies when there is no hub), training steps
(forward + backward + AdamW) of the track's stage 2 (``configs/real/stage2.yaml``, LoRA on) on
the first batches its own data pipeline draws from the benchmark's corpus: the sampler's batches
(``data.sampler``), the recipe's sampled prompts, ASR and ST mixed.

Cumulative variants, each timed over the same batches after a warm-up pass over them (which
fills the encoder cache and compiles):

1. baseline: float32, the encoder run every step, logits at every position, padded batches;
2. + encoder cache: the frozen Whisper outputs read from the cache;
3. + answer-only LM head: logits only where the loss reads them (Gemma's vocabulary is 262k);
4. + packed sequences: each batch's items back to back in one row, no padding
   (``run.pack_sequences``);
5. + torch.compile: the LLM compiled by inductor (``run.compile``), dynamic shapes.

The last two variants (packed, and packed + compiled) also run the changes that alter the
batches: the same examples with each task's test prompt instead of the sampled paraphrases
(fewer prompt tokens), and the first batches at other ``max_duration_s`` (``--durations``), for
the audio-seconds per second each batch size reaches. ``--bf16`` adds both in bf16: bf16 frozen
weights under bf16 autocast (``model.dtype=bfloat16 run.mixed_precision=bf16``, what ``auto``
picks on a CPU with AVX512-BF16 or AMX; on an AVX2-only CPU bf16 is emulated, ~50x slower:
expect minutes per step there).

Every variant computes the same loss on the same batches (up to float rounding and the cache's
float16 states); the largest difference from the baseline's loss is printed, with the padding
share of the LLM's input that packing removes.

    .venv/bin/python benchmarks/speedups.py [--corpus DIR] [--batches 6] [--threads N]
        [--durations 12 48] [--bf16] [--json FILE] [--set KEY=VALUE ...]

Without the corpus (``unheard benchmark real-llm`` builds it) 50 items per seen language are
synthesized first. ``--set`` overrides the config (``--set model.llm=tiny:gemma3
model.encoder=tiny:whisper`` runs every code path in a minute).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig
from transformers.utils import logging as hf_logging

from unheard.build import build_speech_llm, load_tokenizer, resolve_model
from unheard.data.batch import Batch
from unheard.data.collate import SpeechCollator
from unheard.data.dataset import MixingWeights, make_loader, set_epoch
from unheard.data.features import feature_extractor_for
from unheard.data.loading import SkipLog
from unheard.encoder_cache import EncoderCacheOptions, cache_encoder
from unheard.model.speech_llm import SpeechLLM, pack_segments
from unheard.recipes.run_data import load_run_data
from unheard.recipes.train import stage_model_config
from unheard.recipes.train_config import TrainConfig, load_train_config

hf_logging.disable_progress_bar()
ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "real" / "stage2.yaml"
SEEN = ("es", "fr", "it", "pt", "de", "en")


@dataclass(frozen=True)
class Variant:
    """One way of running the same training steps."""

    name: str
    cache: bool = False  # the encoder outputs from the (warm) cache
    answer_only: bool = False  # LM-head logits at answer positions only
    packed: bool = False  # one row per batch, no padding
    compiled: bool = False  # the LLM compiled by inductor
    fixed_prompts: bool = False  # the test prompt in place of the sampled paraphrases
    bf16: bool = False  # bf16 frozen weights under bf16 autocast


def cumulative() -> list[Variant]:
    """Baseline, then each speed-up added to the ones before (named by the one it adds)."""
    steps = ("encoder-cache", "answer-only", "packed", "compiled")
    flags = ("cache", "answer_only", "packed", "compiled")
    variants = [Variant("baseline")]
    for name, flag in zip(steps, flags, strict=True):
        variants.append(replace(variants[-1], name=name, **{flag: True}))
    return variants


def corpus_or_synth(corpus: Path | None, scratch: Path) -> Path:
    """The benchmark's corpus, or a small one synthesized into ``scratch`` (50 items per seen
    language) when there is none."""
    if corpus is not None and (corpus / "unheard-synth_es_train.jsonl.gz").is_file():
        return corpus
    from unheard.data.synth.corpus import SynthOptions, build_synth_corpus

    out = scratch / "corpus"
    print(f"no corpus at {corpus}: synthesizing 50 items per language into {out}", flush=True)
    build_synth_corpus(
        out, SynthOptions(languages=SEEN, per_language=50, kinds=("cardinal", "year"))
    )
    return out


def stage_config(
    corpus: Path, scratch: Path, max_duration_s: float | None, extra: list[str]
) -> TrainConfig:
    """The track's stage-2 config on ``corpus``'s seen-language training manifests, with
    ``extra`` overrides on top."""
    train = [str(corpus / f"unheard-synth_{lang}_train.jsonl.gz") for lang in SEEN]
    overrides = [
        f"data.train={json.dumps(train)}", "data.dev=[]", f"run.output_dir={scratch / 'run'}",
        "run.encoder_cache=", "run.init_from=null",
    ]  # fmt: skip
    if max_duration_s:
        overrides.append(f"data.sampler.max_duration_s={max_duration_s}")
    return load_train_config(CONFIG, [*overrides, *extra])


def first_batches(config: TrainConfig, count: int, fixed: bool = False) -> list[Batch]:
    """The first ``count`` batches the recipe's data pipeline draws (epoch 0, the run's seed);
    ``fixed``: the same examples with each task's test prompt, not the sampled paraphrase."""
    model_config = stage_model_config(config)
    tokenizer = load_tokenizer(model_config)
    data = load_run_data(config.data, tokenizer, config.run.seed, SkipLog())
    encoder = AutoConfig.from_pretrained(resolve_model(model_config.encoder))
    collator = SpeechCollator(tokenizer, feature_extractor_for(encoder), False)
    if fixed:
        collator = FixedPrompts(collator)
    loader, sampler = make_loader(
        data.dataset, collator, config.sampler, MixingWeights(**config.data.mixing)
    )
    set_epoch(data.dataset, sampler, 0)
    batches = []
    for batch in loader:
        if not batch.empty:  # all its clips were refused (a tiny encoder's short window)
            batches.append(batch)
        if len(batches) == count:
            break
    return batches


@dataclass(frozen=True)
class FixedPrompts:
    """A collator that gives every example its task's test prompt (a prompt-less example gets
    the fixed one)."""

    collator: SpeechCollator

    def __call__(self, examples: list[Any]) -> Batch:
        return self.collator([replace(e, prompt=None) for e in examples])


@torch.no_grad()
def llm_padding(model: SpeechLLM, batches: list[Batch]) -> float:
    """The share of padding among the LLM's input positions (prompt, audio, answer) when the
    batches are padded, as the baseline runs them."""
    real = padded = 0
    embed = model.llm.get_input_embeddings()
    for b in batches:
        segments = model.prompt_segments(
            b["prefix_ids"], b["prefix_mask"], b["suffix_ids"], b["suffix_mask"],
            b["features"], b["feature_mask"],
        )  # fmt: skip
        _, mask, _ = pack_segments([*segments, (embed(b["target_ids"]), b["target_mask"].bool())])
        real, padded = real + int(mask.sum()), padded + mask.numel()
    return 1 - real / padded


def run_variant(
    config: TrainConfig, variant: Variant, batch_sets: dict[str, list[Batch]]
) -> dict[str, dict[str, Any]]:
    """One model of the variant on each set of batches: seconds per step (mean over the set,
    after a warm-up pass over it), audio-seconds per second, the warm-up's seconds (cache filling
    and compiling), each step's loss and the padding share of the set's LLM input (what packing
    saves)."""
    torch.manual_seed(0)
    # each variant sets how the step runs, whatever the config's own run settings (its
    # model.dtype auto would make every variant bf16 on a CPU with native bf16)
    dtype = "bfloat16" if variant.bf16 else "float32"
    model = build_speech_llm(replace(stage_model_config(config), dtype=dtype))
    model.train()
    if variant.cache:
        cache_encoder(model, EncoderCacheOptions.from_setting("memory", "float16"))
    model.answer_logits_only = variant.answer_only
    model.pack_sequences = variant.packed
    if variant.compiled:
        model.llm.compile(dynamic=True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=0.0)  # lr 0: every pass sees the same weights

    def one_pass(batches: list[Batch]) -> tuple[float, list[float]]:
        losses, started = [], time.perf_counter()
        for batch in batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant.bf16):
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
        return time.perf_counter() - started, losses

    results = {}
    for name, batches in batch_sets.items():
        warm, _ = one_pass(batches)
        seconds, losses = one_pass(batches)
        results[name] = {
            "s_per_step": seconds / len(batches),
            "audio_s_per_s": sum(b.audio_seconds for b in batches) / seconds,
            "warmup_s": warm,
            "losses": losses,
            "llm_padding": llm_padding(model, batches),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "runs/benchmark/real-llm/corpus")
    parser.add_argument("--batches", type=int, default=6, help="timed batches per measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--durations", type=float, nargs="*", default=[12, 48],
                        help="other max_duration_s to measure audio-seconds per second at")  # fmt: skip
    parser.add_argument(
        "--bf16", action="store_true", help="also under bf16 autocast (slow without AVX512-BF16)"
    )
    parser.add_argument("--variants", nargs="*", default=None, choices=[v.name for v in cumulative()],
                        help="only these of the cumulative variants")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="config overrides (e.g. model.llm=tiny:gemma3)")  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}", flush=True)  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        corpus = corpus_or_synth(args.corpus, scratch)
        config = stage_config(corpus, scratch, None, args.set)
        main_set = f"max_duration_s {config.sampler.max_duration_s:g}"
        sets = {main_set: first_batches(config, args.batches)}
        # the speed-ups that change the batches, measured on the last two variants only
        sets[f"{main_set}, fixed prompts"] = first_batches(config, args.batches, fixed=True)
        for d in args.durations:
            sets[f"max_duration_s {d:g}"] = first_batches(
                stage_config(corpus, scratch, d, args.set), args.batches
            )
        for name, batches in sets.items():
            print(f"{name}: {len(batches)} batches, {sum(len(b.ids) for b in batches)} "
                  f"examples, {sum(b.audio_seconds for b in batches):.0f} audio-s", flush=True)  # fmt: skip
        chain = cumulative()
        late = chain[-2:]  # packed, compiled: also on the other batches
        if args.bf16:
            late += [replace(v, name=f"{v.name} + bf16", bf16=True) for v in late]
        for variant in [*chain[:-2], *late]:
            if args.variants and variant.name not in args.variants:
                continue
            measured = run_variant(
                config, variant, sets if variant in late else {main_set: sets[main_set]}
            )
            for set_name, r in measured.items():
                key = variant.name if set_name == main_set else f"{variant.name} @ {set_name}"
                results[key] = r
                base = results.get("baseline")
                diff = (
                    max(abs(a - b) for a, b in zip(r["losses"], base["losses"], strict=True))
                    if base and set_name == main_set
                    else float("nan")
                )
                print(f"{key:>40}: {r['s_per_step']:6.2f} s/step {r['audio_s_per_s']:6.1f} "
                      f"audio-s/s  warm-up {r['warmup_s']:5.0f} s  LLM padding "
                      f"{r['llm_padding']:.1%}  loss vs baseline {diff:.1e}", flush=True)  # fmt: skip
    base = results.get("baseline", {}).get("s_per_step")
    summary = {}
    for name, r in results.items():
        variant, _, batches = name.partition(" @ ")
        summary[name] = {
            "s_per_step": round(r["s_per_step"], 3),
            "audio_s_per_s": round(r["audio_s_per_s"], 2),
            "warmup_s": round(r["warmup_s"], 1),
            "llm_padding": round(r["llm_padding"], 3),
        }
        if not batches and base:  # the same batches as the baseline: time per step
            summary[name]["speedup_vs_baseline"] = round(base / r["s_per_step"], 2)
        elif batches:  # other batches: audio-seconds per second, against the variant's own
            own = results[variant]["audio_s_per_s"]
            summary[name]["audio_s_per_s_vs_main_batches"] = round(r["audio_s_per_s"] / own, 2)
    report = {"threads": torch.get_num_threads(), "results": summary}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
