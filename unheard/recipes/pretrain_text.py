"""Text-only pretraining of a small mT5 (``MT5ForConditionalGeneration``) for the offline
benchmark's *mini* track: it stands in for mT0's multilingual knowledge at a size this CPU trains.

Mixed tasks: translation of every language into English (``translate to English: …``), T5
span-corruption denoising in every language, the unseen ones included (text in them is allowed;
paired audio is not), and — the analogue of mT0's prompted multitask fine-tuning of mT5 on xP3 —
*instruction* examples written with the speech tasks' own prompt pools, the text where the audio
goes: "Transcribe the audio. <text>" → the text (so the LLM writes every language) and "Translate
the audio into English. <text>" → its translation. A run can start from an earlier one's model
(``init``) with a fresh schedule: pretraining, then instruction tuning, as mT5 → mT0. The model and
its SentencePiece tokenizer are written with ``save_pretrained``, so a SpeechLLM config loads them
exactly as it would load ``bigscience/mt0-xl``.

The phoneme option (``phonemes``) teaches the frozen LLM the text half of the phoneme bridge: its
tokenizer also learns the IPA phones of a sample of each language's records (every symbol the G2P
emits becomes a piece), and the instructions gain ``p2g`` (phones → text) and ``phon`` (text →
phones), in every language of the text (`unheard.recipes.text_tasks`).

A thin recipe on the training recipe's parts: transformers' ``get_scheduler`` (and its
``Adafactor``, T5's optimizer, as an option), the optimizer
step and NaN guard of `unheard.recipes.steps`, and the atomic checkpoints, resume and random
state of `unheard.recipes.state` (``OUT/checkpoints/step-N``: the model's ``save_pretrained``
files beside the training state).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoTokenizer,
    MT5ForConditionalGeneration,
    PreTrainedTokenizerBase,
    get_scheduler,
)
from transformers.optimization import Adafactor

from unheard.data.phonemes import check_round_trip
from unheard.data.synth.parallel_text import ParallelText
from unheard.data.text import check_text_split, read_text_records
from unheard.files import write_json_atomic
from unheard.recipes.state import (
    STATE_JSON,
    load_training_state,
    optimizer_to_flat,
    prune,
    python_rng_from_json,
    python_rng_to_json,
    step_checkpoints,
    write_training_checkpoint,
)
from unheard.recipes.steps import apply_step, skip_bad_step
from unheard.recipes.text_model import NEW_TOKENIZER, new_mt5, new_tokenizer, phone_sample
from unheard.recipes.text_options import TextPretrainOptions
from unheard.recipes.text_tasks import (
    INSTRUCTION_TASKS,
    PHONEME_TASKS,
    TextTaskMix,
    instruction_probes,
    span_corrupt,
    translation_probe,
)

__all__ = ["TextPretrainOptions", "pretrain_text", "span_corrupt", "translation_probe"]

GRAD_CLIP = 1.0  # the largest gradient norm
MAX_BAD_STEPS = 10  # NaN/Inf losses in a row that stop the run (as `unheard train`'s default)


@dataclass
class TextRun:
    """What `pretrain_text` builds and its loop mutates (an `OptimizerState` of the steps)."""

    model: MT5ForConditionalGeneration
    tokenizer: PreTrainedTokenizerBase
    optimizer: torch.optim.Optimizer
    scheduler: Any
    rng: random.Random  # the task and record draws
    step: int = 0  # optimizer steps done
    bad_steps: int = 0  # NaN/Inf steps skipped in total
    bad_in_row: int = 0


def pretrain_text(
    train: Sequence[str],
    dev: Sequence[str],
    out_dir: str | Path,
    options: TextPretrainOptions | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the tokenizer and the small mT5, evaluate the translation probe, save.

    Resumes from the newest checkpoint in ``out_dir/checkpoints`` when one exists.

    Args:
        train: parallel text files or globs (`unheard.data.text.read_text_records`).
        dev: held-out text files for the probe (never trained on).
        out_dir: ``model/`` (``save_pretrained``) and ``metrics.json`` go here.
        options: size and schedule.
        log: where progress lines go.

    Returns:
        The metrics: per-language exact-match of greedy translation into English on ``dev``,
        and the mean training loss of the last log window (``final_loss``).

    Raises:
        FileNotFoundError: for a text file or glob that matches nothing.
        ValueError: for options that do not fit the text or the checkpoint being resumed, or
            training text that holds a dev item or sentence (`check_text_split`).
    """
    options = options or TextPretrainOptions()
    out = Path(out_dir)
    run, records, held_out = _setup(train, dev, out, options, log)
    params = [p for p in run.model.parameters() if p.requires_grad]
    tasks = TextTaskMix(
        records, run.tokenizer, run.rng, options.denoise_share, options.instruct_share,
        options.instruct_weights, options.noise_density, options.mean_span,
        options.balance_lengths, options.phonemes,
    )  # fmt: skip
    run.model.train()
    first, started, recent, final_loss = run.step + 1, time.perf_counter(), [], float("nan")
    while run.step < options.steps:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=options.bf16):
            loss = run.model(**tasks.batch(options.batch_size)).loss
        if not torch.isfinite(loss):  # its gradients would make every weight NaN
            skip_bad_step(run, MAX_BAD_STEPS, lr_option="--lr")
            continue
        loss.backward()
        apply_step(run, params, GRAD_CLIP)
        recent.append(loss.item())
        step = run.step
        if step % 100 == 0 or step == options.steps:
            rate = (time.perf_counter() - started) / (step - first + 1)
            final_loss = sum(recent) / len(recent)
            log(f"step {step}/{options.steps}  loss {final_loss:.3f}  "
                f"{rate:.2f} s/step  eta {rate * (options.steps - step) / 60:.1f} min")  # fmt: skip
            recent = []
        if step % options.save_every == 0 and step < options.steps:
            _save(run, out / "checkpoints", options)
        if options.probe_every and held_out and step % options.probe_every == 0:
            log(f"step {step} probe: {translation_probe(run.model, run.tokenizer, held_out, 10)}")
            quick = ("asr",) if options.instruct_share else ()
            quick += PHONEME_TASKS if options.phonemes else ()
            for name, probe in instruction_probes(
                run.model, run.tokenizer, held_out, 10, quick
            ).items():
                log(f"step {step} probe {name}: {probe}")
            run.model.train()
    return _cleanup(run, out, options, held_out, final_loss, started, log)


def _setup(
    train: Sequence[str],
    dev: Sequence[str],
    out: Path,
    options: TextPretrainOptions,
    log: Callable[[str], None],
) -> tuple[TextRun, list[ParallelText], list[ParallelText]]:
    """The text, the tokenizer and model (new or ``init``), optimizer and schedule, resumed
    from the newest checkpoint; returns the run, the training records and the held-out ones."""
    if (out / "checkpoint" / "state.json").is_file():
        raise ValueError(
            f"{out / 'checkpoint'} is a checkpoint of an older unheard pretrain-text, which this "
            "version cannot resume; delete it to start over"
        )
    rng = random.Random(options.seed)
    torch.manual_seed(options.seed)
    records = read_text_records(train)
    held_out = read_text_records(dev) if dev else []
    check_text_split(records, held_out_text=held_out)  # the probe's items stay unseen
    if options.init:
        tokenizer = AutoTokenizer.from_pretrained(options.init)
        model = MT5ForConditionalGeneration.from_pretrained(options.init)
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = options.dropout
        model.config.dropout_rate = options.dropout
    else:
        tokenizer, model = _new_model(records, out / "model", options, log)
    if options.languages is not None:
        missing = sorted(set(options.languages) - {r.language for r in records})
        if missing:
            raise ValueError(
                f"languages={list(options.languages)} names {missing}, which have no training text"
            )
        records = [r for r in records if r.language in options.languages]
    if options.phonemes and options.init:  # its tokenizer must read and write phones
        phones = phone_sample(records, 100, options.seed)
        check_round_trip(tokenizer, phones, f"of {options.init}", NEW_TOKENIZER)
    params = sum(p.numel() for p in model.parameters())
    start = f"from {options.init}" if options.init else "new"
    languages = ",".join(options.languages) if options.languages else "all languages"
    log(
        f"text pretraining: {len(records)} records ({languages}), vocab {len(tokenizer)}, "
        f"mT5 {params / 1e6:.1f}M ({start})"
    )
    optimizer = new_optimizer(model, options)
    scheduler = get_scheduler(
        "cosine", optimizer, num_warmup_steps=options.warmup_steps,
        num_training_steps=options.steps,
    )  # fmt: skip
    run = TextRun(model, tokenizer, optimizer, scheduler, rng)
    found = step_checkpoints(out / "checkpoints")
    if found:
        _resume(run, found[-1][1], options, log)
    return run, records, held_out


def new_optimizer(
    model: MT5ForConditionalGeneration, options: TextPretrainOptions
) -> torch.optim.Optimizer:
    """The optimizer ``options.optimizer`` names, at ``options.lr`` (the schedule scales it):
    AdamW (weight decay 0.01), or transformers' Adafactor as T5 was trained, its updates
    relative to each parameter's RMS (``scale_parameter``), at the given lr, not its own
    relative-step schedule."""
    if options.optimizer == "adafactor":
        return Adafactor(
            model.parameters(), lr=options.lr, scale_parameter=True, relative_step=False,
            warmup_init=False,
        )  # fmt: skip
    return torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=0.01)


def _save(run: TextRun, root: Path, options: TextPretrainOptions) -> None:
    """Write ``root/step-N`` (the model's ``save_pretrained`` files and the training state)
    atomically, then delete the older ones: a run killed at any point keeps a whole one."""
    state = {
        "step": run.step, "bad_steps": run.bad_steps, "bad_in_row": run.bad_in_row,
        "python_rng": python_rng_to_json(run.rng.getstate()), "options": asdict(options),
    }  # fmt: skip
    write_training_checkpoint(
        root / f"step-{run.step}",
        lambda tmp: run.model.save_pretrained(str(tmp)),
        optimizer_to_flat(run.optimizer),
        run.scheduler,
        state,
    )
    prune(root, keep_last=1, protect=set())


def _resume(
    run: TextRun, directory: Path, options: TextPretrainOptions, log: Callable[[str], None]
) -> None:
    """Load a checkpoint into the run: weights, optimizer, schedule, random states, step.

    Raises:
        ValueError: if it was written with options that change the trained model.
    """
    state = json.loads((directory / STATE_JSON).read_text())["state"]
    # an option added since the checkpoint was written had its default then
    saved = _training_options({**asdict(TextPretrainOptions()), **state["options"]})
    now = _training_options(asdict(options))
    if saved != now:
        raise ValueError(
            f"{directory} was written with other options; delete {directory.parent} to start "
            f"over (saved {saved}, now {now})"
        )
    loaded = MT5ForConditionalGeneration.from_pretrained(str(directory))
    run.model.load_state_dict(loaded.state_dict())
    load_training_state(directory, run.optimizer, run.scheduler)  # and torch's random state
    run.rng.setstate(python_rng_from_json(state["python_rng"]))
    run.step, run.bad_steps, run.bad_in_row = state["step"], state["bad_steps"], state["bad_in_row"]
    log(f"resumed from {directory} at step {run.step}")


def _cleanup(
    run: TextRun,
    out: Path,
    options: TextPretrainOptions,
    held_out: list[ParallelText],
    final_loss: float,
    started: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Save the model and tokenizer, drop the checkpoints, probe, write ``metrics.json``."""
    model, tokenizer = run.model, run.tokenizer
    model.save_pretrained(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # finished: the model is the result
    metrics = {
        "options": asdict(options),
        "parameters": sum(p.numel() for p in model.parameters()),
        "minutes": (time.perf_counter() - started) / 60,
        "final_loss": final_loss,
        "bad_steps": run.bad_steps,
    }
    if held_out:
        metrics["translation_exact_match"] = translation_probe(
            model, tokenizer, held_out, options.eval_per_language
        )
        log(f"held-out translation exact match: {metrics['translation_exact_match']}")
        tasks = INSTRUCTION_TASKS if options.instruct_share else ()
        tasks += PHONEME_TASKS if options.phonemes else ()
        probes = instruction_probes(model, tokenizer, held_out, options.eval_per_language, tasks)
        for name, scores in probes.items():  # the text where the audio goes
            log(f"held-out {name.replace('_', ' ')}: {scores}")
        metrics.update(probes)
    write_json_atomic(out / "metrics.json", metrics, indent=2)
    return metrics


def _new_model(
    records: Sequence[ParallelText],
    directory: Path,
    options: TextPretrainOptions,
    log: Callable[[str], None],
) -> tuple[PreTrainedTokenizerBase, MT5ForConditionalGeneration]:
    """A SentencePiece tokenizer trained on the text, the prompts and (``phonemes``) a sample of
    each language's phones, and a fresh mT5 (`unheard.recipes.text_model`)."""
    phones: list[str] = []
    if options.phonemes:
        started = time.perf_counter()
        phones = phone_sample(records, options.phoneme_sample, options.seed)
        seconds = time.perf_counter() - started
        log(f"tokenizer text: {len(phones)} phone strings (G2P {seconds:.0f} s)")
    tokenizer = new_tokenizer(
        records, directory, options.vocab_size, phones, options.max_piece_length
    )
    model = new_mt5(
        tokenizer, options.d_model, options.d_ff, options.layers, options.heads, options.dropout,
        options.tie_head,
    )  # fmt: skip
    return tokenizer, model


def _training_options(options: dict[str, Any]) -> dict[str, Any]:
    # what changes the trained model; checkpoint and probe cadence may differ on resume (through
    # JSON, so that a tuple now equals the list the checkpoint saved)
    kept = {k: v for k, v in options.items() if k not in ("save_every", "probe_every")}
    return json.loads(json.dumps(kept))
