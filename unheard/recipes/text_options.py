"""`TextPretrainOptions`: the mini mT5's size, tokenizer, task mix and schedule, as
`unheard.recipes.pretrain_text` runs them (``unheard pretrain-text``'s flags)."""

from __future__ import annotations

from dataclasses import dataclass

from unheard.recipes.text_tasks import INSTRUCTION_TASKS, PHONEME_TASKS

OPTIMIZERS = ("adamw", "adafactor")


@dataclass(frozen=True)
class TextPretrainOptions:
    """Model size, tasks and schedule of the text pretraining."""

    vocab_size: int = 2000  # SentencePiece pieces (lowered to what the text allows)
    max_piece_length: int = 16  # the longest piece in characters (`text_model.new_tokenizer`)
    d_model: int = 256
    d_ff: int = 1024
    layers: int = 4  # encoder and decoder each
    heads: int = 4
    # the output head is the token embedding, rescaled as T5's (`text_model.new_mt5`): copying is
    # the identity from the start (issue 21: this mT5 learnt copying slowly with its own head)
    tie_head: bool = False
    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3  # peak, linear warmup then cosine decay (transformers' "cosine")
    # "adamw", or "adafactor": T5's own optimizer (transformers' Adafactor, each update scaled
    # by its parameter's RMS; give it lr ~1e-2). T5 scales no attention logits by 1/sqrt(d_kv):
    # it starts its queries small instead (std (d_model * d_kv)^-0.5), and AdamW's steps, the
    # same size for every weight, grew them into saturated one-hot attention in 400 steps.
    # Under Adafactor's relative steps it copied 99.5% of held-out items after 1,200 copy-only
    # steps, where AdamW stayed at loss 0.31 (docs/benchmark.md, issue 21 round 4)
    optimizer: str = "adamw"
    warmup_steps: int = 200
    denoise_share: float = 0.4  # share of span-corruption examples
    # share of instruction examples (`INSTRUCTION_TASKS`, a third each): the speech tasks' prompts
    # with the text for the audio (transcribe → the text, translate → English) and the text-only
    # translate prompts; the rest of the batch is "translate to English:" translation
    instruct_share: float = 0.0
    # relative weight of each instruction task (`INSTRUCTION_TASKS`, and `PHONEME_TASKS` with
    # `phonemes`) in that share; None: equal.
    # A frozen LLM in stage 1 must *copy* the adapter's output for ASR, and a model pretrained
    # mostly on translation learns copying slowly: weighting "asr" up gives it more of it (the
    # benchmark's 2:1:1 still left its mT5 a weak copier, docs/benchmark.md round 4)
    instruct_weights: dict[str, float] | None = None
    init: str | None = None  # start from this saved model and tokenizer (a fresh schedule)
    # train the model on these languages' text only (None: all); a new tokenizer still reads all
    # of it, as mT5's vocabulary covers languages its LM barely knows
    languages: tuple[str, ...] | None = None
    noise_density: float = 0.15  # share of tokens masked by span corruption
    mean_span: float = 3.0  # mean masked span length in tokens
    # draw records evenly across the word counts of their English (1, 2, … words: every size of
    # item as often), not as the corpus holds them. The synthetic corpus's text is 96% long
    # cardinals (median 7 English words), but its first items, which the speech data, the dev
    # probe and the test take, are half one- and two-word numbers and years; drawn as held, those
    # were 4% of what the LLM read, and it wrote unrelated numbers for them (docs/benchmark.md,
    # issue 21). False: each record as often
    balance_lengths: bool = False
    dropout: float = 0.0  # off: a short run on a small corpus is under-fitted, not over-fitted
    # bf16 autocast: off, because on this 2-core CPU it made this small model's steps 17x slower
    # (10.2 vs 0.59 s/step, batch 32), although large bf16 matmuls run 2.3x the fp32 rate
    bf16: bool = False
    eval_per_language: int = 50  # held-out items per language for the translation probe
    # the phoneme bridge's text half: instruction tasks p2g (phones → text) and phon (text →
    # phones), and a new tokenizer that also learns the phones
    phonemes: bool = False
    # records per language whose phones a new tokenizer learns from (G2P: ~1,000 records/s a
    # language, Dutch ~180/s)
    phoneme_sample: int = 2000
    save_every: int = 250  # steps between resumable checkpoints (out/checkpoints/step-N)
    probe_every: int = 500  # steps between quick translation probes (10 items/language; 0: off)
    seed: int = 0

    def __post_init__(self) -> None:
        shares = (self.denoise_share, self.instruct_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError(
                f"denoise_share and instruct_share must be >= 0 and sum to <= 1, got {shares}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0 or self.max_piece_length < 1:
            raise ValueError("steps, batch_size, lr and max_piece_length must be positive")
        tasks = INSTRUCTION_TASKS + (PHONEME_TASKS if self.phonemes else ())
        if self.instruct_weights is not None:
            unknown = set(self.instruct_weights) - set(tasks)
            weights = list(self.instruct_weights.values())
            if unknown or min(weights, default=-1) < 0 or sum(weights) <= 0:
                raise ValueError(
                    f"instruct_weights must give tasks of {tasks} weights >= 0 with a positive "
                    f"sum, got {self.instruct_weights} (p2g and phon need phonemes=True)"
                )
        if self.phonemes and (self.instruct_share <= 0 or self.phoneme_sample < 1):
            raise ValueError(
                "phonemes=True trains p2g and phon as instruction examples: give instruct_share "
                f"> 0 and phoneme_sample >= 1, got {self.instruct_share} and {self.phoneme_sample}"
            )
        if self.languages is not None and not self.languages:
            raise ValueError("languages must name at least one language (None: all)")
