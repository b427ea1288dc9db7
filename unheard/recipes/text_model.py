"""The mini mT5 of `unheard.recipes.pretrain_text` and its SentencePiece tokenizer, built new.

The tokenizer learns its pieces from the training text, its English translations and every
prompt; with the phoneme tasks also from the IPA phones (`unheard.data.phonemes`) of a sample of
each language's records. Without them, trained on spelling alone, a vocabulary of 500 read the
corpus's phones back exactly for 0-3.5% of the dev items per language (ɔ, ə, ʃ, ɣ, … were
``<unk>``), two pieces a phone: a frozen LLM on it can neither read nor write phones. A sample
can miss a rare symbol (30 Portuguese records had no õ), so each language's whole phone inventory
(`phone_inventory`) joins the tokenizer's text too: every symbol the G2P can emit is a piece.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import MT5Config, MT5ForConditionalGeneration, PreTrainedTokenizerBase

from unheard.build import untie_output_embeddings
from unheard.data.phonemes import check_language, check_round_trip, phone_inventory, phonemize
from unheard.data.prompts import PROMPT_POOLS, TEXT_PROMPT_POOLS
from unheard.data.synth.parallel_text import ParallelText
from unheard.recipes.text_tasks import SENTINELS, TRANSLATE
from unheard.tiny import train_tokenizer


def phone_sample(records: Sequence[ParallelText], per_language: int, seed: int = 0) -> list[str]:
    """The phones of up to ``per_language`` records of each language, drawn at random (a
    corpus's first records are its shortest items, not a sample of its text).

    Args:
        records: the training text (never dev or test records: their phones would be read).
        per_language: records phonemized per language.
        seed: seed of the draw.

    Returns:
        `phonemize` outputs, language by language (sorted by code), each language's
        `phone_inventory` first (one line).

    Raises:
        ValueError: for a language without a G2P (`unheard.data.phonemes.G2P_LANGUAGES`).
    """
    by_language: dict[str, list[ParallelText]] = defaultdict(list)
    for r in records:
        by_language[r.language].append(r)
    for language in by_language:
        check_language(language)  # before minutes of G2P on the others
    rng, phones = random.Random(seed), []
    for language, items in sorted(by_language.items()):
        drawn = rng.sample(items, min(per_language, len(items)))
        phones += [" ".join(phone_inventory(language))]
        phones += [phonemize(r.text, language) for r in drawn]
    return phones


# what to do about a tokenizer that cannot write phones, in `pretrain_text`
NEW_TOKENIZER = (
    "train a new one with the phoneme tasks on (no --init), which adds phones to its text"
)


def new_tokenizer(
    records: Sequence[ParallelText],
    directory: Path,
    vocab_size: int,
    phones: Sequence[str] = (),
    max_piece_length: int = 16,
) -> PreTrainedTokenizerBase:
    """A SentencePiece tokenizer (T5's special ids, `SENTINELS` sentinels) trained on the text,
    its translations, every prompt and ``phones``.

    The prompts are repeated until they are as many lines as the text: an instruction example
    holds a prompt beside each text, and read once among 320,000 lines their words were too rare
    for pieces, so a prompt was 20 single characters (6 pieces repeated) whose letters the
    decoder confused with the text's it was copying (docs/benchmark.md, issue 21 round 3).

    Args:
        max_piece_length: the longest piece in characters; 8 splits compound number words into
            their parts ("vierhundert" + "fünfund" + "dreißig"), which recur, where 16 made whole
            rare compounds pieces and spelled the rest out letter by letter.

    Raises:
        ValueError: if ``phones`` do not all round-trip through it (`check_round_trip`).
    """
    texts = [r.text for r in records] + [r.translation for r in records]
    pools = [*PROMPT_POOLS.values(), *TEXT_PROMPT_POOLS.values()]
    prompts = [TRANSLATE, *(p.format(target="English") for pool in pools for p in pool)]
    repeats = max(1, len(texts) // len(prompts))
    tokenizer = train_tokenizer(
        [*texts, *phones, *prompts * repeats], directory, vocab_size, SENTINELS, max_piece_length
    )
    # character_coverage=1.0 keeps every character of the text, hence every IPA symbol
    check_round_trip(tokenizer, phones, "trained on them", NEW_TOKENIZER)
    return tokenizer


def new_mt5(
    tokenizer: PreTrainedTokenizerBase,
    d_model: int,
    d_ff: int,
    layers: int,
    heads: int,
    dropout: float,
    tie_head: bool = False,
) -> MT5ForConditionalGeneration:
    """A fresh mT5 (random weights) of the given size over ``tokenizer``'s vocabulary.

    Args:
        tie_head: the output head is the token embedding (transposed) instead of its own matrix,
            with T5's d_model^-0.5 output rescaling as the decoder's final RMSNorm gain (the
            architecture has no other place for it, and a saved model must load as a plain
            ``MT5ForConditionalGeneration``). Copying a token is then the identity from the
            start; an own head must learn an output row for every piece first.
    """
    config = MT5Config(
        vocab_size=len(tokenizer), d_model=d_model, d_ff=d_ff, d_kv=64, num_heads=heads,
        num_layers=layers, num_decoder_layers=layers, feed_forward_proj="gated-gelu",
        decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, dropout_rate=dropout,
    )  # fmt: skip
    model = MT5ForConditionalGeneration(config)
    # transformers 5 ties every MT5Config's lm_head to the input embedding (no output rescaling),
    # so initialising the head small for a first loss near log(vocab) also shrank the token
    # embeddings from T5's std 1.0 to ~0.06: the first attention layer drowned the token identities
    # in the residual stream, and a model trained so for 4,400 steps still wrote "three hundred
    # and fifty-three" for "ciento cincuenta y tres" and fit 6-28% of its *training* items. An own
    # head, as real mT5/mT0 checkpoints have, keeps std-1 embeddings and a small head.
    if tie_head:
        assert model.lm_head.weight is model.shared.weight  # tied by the config
        with torch.no_grad():
            torch.nn.init.normal_(model.shared.weight, std=1.0)  # T5's token embeddings
            # (batch, len, d_model) RMS-normalised states x gain d_model^-0.5: logits of std ~1
            model.decoder.final_layer_norm.weight.fill_(d_model**-0.5)
        return model
    torch.nn.init.normal_(untie_output_embeddings(model), std=d_model**-0.5)
    return model
