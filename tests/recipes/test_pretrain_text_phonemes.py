"""The text pretraining's phoneme option: a tokenizer that reads and writes the G2P's phones in
all 8 languages, p2g and phon instruction examples in the asked proportion, their probes, and a
resume as exact as without them. Needs the phonemes extra (gruut), as `make setup` installs."""

from __future__ import annotations

import json
import random

import pytest
from num2words import num2words

from unheard.data.phonemes import G2P_LANGUAGES, phonemize
from unheard.data.synth.parallel_text import ParallelText, write_parallel_text
from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text
from unheard.recipes.text_model import new_tokenizer, phone_sample
from unheard.recipes.text_tasks import TextTaskMix

LANGUAGES = tuple(sorted(G2P_LANGUAGES))  # ca de en es fr it nl pt
WEIGHTS = {"asr": 2.0, "st": 1.0, "translate": 1.0, "p2g": 1.0, "phon": 1.0}


def _rows(numbers, languages=LANGUAGES):
    return [ParallelText(f"{lang}-n{n}", f"n{n}", lang, num2words(n, lang=lang),
                         num2words(n, lang="en"), "cardinal")
            for n in numbers for lang in languages]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Numbers in 8 languages: 60 training numbers, 20 other held-out ones."""
    root = tmp_path_factory.mktemp("phon-text")
    rng = random.Random(0)
    numbers = rng.sample(range(1, 3000), 80)
    train, dev = _rows(numbers[:60]), _rows(numbers[60:])
    write_parallel_text(root / "train.jsonl", train)
    write_parallel_text(root / "dev.jsonl", dev)
    return root, train, dev


def _round_trips(tokenizer, phones):
    return sum(tokenizer.decode(tokenizer(p).input_ids, skip_special_tokens=True) == p
               for p in phones)  # fmt: skip


def test_a_tokenizer_trained_with_phones_reads_back_every_held_out_phone_string(corpus, tmp_path):
    """Trained on spelling alone, the vocabulary lacks IPA symbols (ə, ʃ, ɣ, … are <unk>); with
    the phones of 30 records a language it reads the phones of all 160 held-out items back
    exactly, in all 8 languages, at about one piece a phone."""
    _, train, dev = corpus
    held_out = [phonemize(r.text, r.language) for r in dev]
    assert len(held_out) == 160 and all(held_out)
    spelling_only = new_tokenizer(train, tmp_path / "spelling", 300)
    assert _round_trips(spelling_only, held_out) == 1  # of 160 (an Italian one: no ɔ, ə, ɛ)
    sample = phone_sample(train, 30)
    assert len(sample) == 8 * (1 + 30)  # each language's phone inventory, then 30 records
    assert "õ" in sample[7 * 31]  # Portuguese's, which 30 of its records missed
    assert not set(sample) & set(held_out) - {phonemize(r.text, r.language) for r in train}
    with_phones = new_tokenizer(train, tmp_path / "phones", 300, sample)
    for language in LANGUAGES:
        phones = [phonemize(r.text, language) for r in dev if r.language == language]
        assert _round_trips(with_phones, phones) == len(phones) == 20, language
        assert with_phones.unk_token_id not in with_phones(" ".join(phones)).input_ids
    symbols = sum(len(p.split()) for p in held_out)
    pieces = sum(len(with_phones.tokenize(p)) for p in held_out)
    assert pieces / symbols < 1.5  # 1.39 measured (a rare symbol: "▁" then the symbol)


def _mix(records, tokenizer, weights, denoise_share=0.2, instruct_share=0.6):
    return TextTaskMix(
        records, tokenizer, random.Random(0), denoise_share, instruct_share, weights,
        phonemes=True,
    )  # fmt: skip


def test_batches_hold_p2g_and_phon_examples_in_the_asked_proportion(corpus, tmp_path):
    _, train, _ = corpus
    tokenizer = new_tokenizer(train, tmp_path / "tok", 300, phone_sample(train, 30))
    mix = _mix(train, tokenizer, WEIGHTS)
    for _ in range(50):
        mix.batch(64)
    drawn = mix.drawn
    assert sum(drawn.values()) == 3200
    # 0.2 denoise, 0.6 instructions (asr twice the others' weight: 2/6, 1/6 each), 0.2 prefix
    # (shares, not pinned counts: the draws of span corruption follow the tokenizer's pieces,
    # which change with every prompt added to the pools it is trained on)
    expected = {"prefix": 0.2, "denoise": 0.2, "asr": 0.2, "st": 0.1, "translate": 0.1,
                "p2g": 0.1, "phon": 0.1}  # fmt: skip
    assert set(drawn) == set(expected)
    for task, share in expected.items():
        assert drawn[task] / 3200 == pytest.approx(share, abs=0.015), (task, drawn)
    instructions = 3200 - drawn["denoise"] - drawn["prefix"]
    for task in ("p2g", "phon"):
        assert drawn[task] / instructions == pytest.approx(1 / 6, abs=0.02)
    # what the examples hold: p2g reads a record's phones and writes its text, phon the reverse
    texts = {r.text: phonemize(r.text, r.language) for r in train}
    for task in ("p2g", "phon"):
        batch = _mix(train, tokenizer, {task: 1.0}, 0.0, 1.0).batch(16)
        for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
            source = tokenizer.decode(ids, skip_special_tokens=True)
            answer = tokenizer.decode(labels[labels >= 0], skip_special_tokens=True)
            if task == "p2g":
                assert answer in texts and texts[answer] in source, (source, answer)
            else:
                text = next(t for t, p in texts.items() if p == answer)
                assert text in source and answer not in source, (source, answer)
    with pytest.raises(ValueError, match="instruct_weights name"):
        TextTaskMix(train, tokenizer, random.Random(0), 0.0, 1.0, {"p2g": 1.0})  # phonemes off


def _options(**changes):
    base = dict(
        steps=6, batch_size=8, d_model=32, d_ff=64, layers=1, heads=2, vocab_size=300,
        warmup_steps=2, save_every=3, probe_every=3, eval_per_language=3, denoise_share=0.2,
        instruct_share=0.6, instruct_weights=WEIGHTS, phonemes=True, phoneme_sample=30,
    )  # fmt: skip
    return TextPretrainOptions(**{**base, **changes})


class _Interrupted(Exception):
    pass


def _stop_at_first_probe(line: str) -> None:
    if "probe" in line:
        raise _Interrupted(line)


def test_pretraining_with_phonemes_probes_p2g_and_phon_per_language_and_resumes_exactly(
    corpus, tmp_path
):
    from safetensors.torch import load_file
    from torch.testing import assert_close
    from transformers import AutoTokenizer

    root, _, dev = corpus
    data = [str(root / "train.jsonl")], [str(root / "dev.jsonl")]
    lines = []
    straight = pretrain_text(*data, tmp_path / "straight", _options(), lines.append)
    assert any(line.startswith("tokenizer text: 248 phone strings") for line in lines)
    assert any(line.startswith("step 3 probe p2g_prompt_exact_match: {'ca'") for line in lines)
    assert any(line.startswith("step 3 probe phon_prompt_per: {'ca'") for line in lines)
    for key in ("p2g_prompt_exact_match", "phon_prompt_exact_match", "phon_prompt_per"):
        assert set(straight[key]) == set(LANGUAGES), key
    # six steps from random weights: nothing right yet, and the phones it writes are mostly wrong
    assert all(v == 0 for v in straight["phon_prompt_exact_match"].values())
    assert all(v >= 0.5 for v in straight["phon_prompt_per"].values())
    metrics = json.loads((tmp_path / "straight/metrics.json").read_text())
    assert metrics["phon_prompt_per"] == straight["phon_prompt_per"]
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "straight/model"))
    held_out = [phonemize(r.text, r.language) for r in dev]
    assert _round_trips(tokenizer, held_out) == len(held_out) == 160  # the saved tokenizer too

    with pytest.raises(_Interrupted):
        pretrain_text(*data, tmp_path / "cut", _options(), _stop_at_first_probe)
    lines = []
    resumed = pretrain_text(*data, tmp_path / "cut", _options(), lines.append)
    assert any("resumed from" in x and "step 3" in x for x in lines)
    first = load_file(str(tmp_path / "straight/model/model.safetensors"))
    second = load_file(str(tmp_path / "cut/model/model.safetensors"))
    for name, tensor in first.items():
        assert_close(second[name], tensor, atol=1e-6, rtol=1e-5)
    assert resumed["phon_prompt_per"] == straight["phon_prompt_per"]


def test_phoneme_options_refuse_what_cannot_work(corpus, tmp_path):
    root, _, _ = corpus
    with pytest.raises(ValueError, match="p2g and phon need phonemes=True"):
        TextPretrainOptions(instruct_share=0.5, instruct_weights={"asr": 1.0, "p2g": 1.0})
    with pytest.raises(ValueError, match="instruct_share > 0"):
        TextPretrainOptions(phonemes=True)
    # a model whose tokenizer never saw phones cannot be tuned to write them
    plain = _options(steps=1, phonemes=False, instruct_weights=None, probe_every=0)
    pretrain_text([str(root / "train.jsonl")], [], tmp_path / "plain", plain, log=print)
    tuned = _options(init=str(tmp_path / "plain/model"))
    with pytest.raises(ValueError, match="cannot write phones: 479 of 488"):
        pretrain_text([str(root / "train.jsonl")], [], tmp_path / "tuned", tuned, log=print)
    # text in a language without a G2P, before any G2P runs
    write_parallel_text(tmp_path / "ru.jsonl", _rows(range(1, 20), ("ru", "es")))
    with pytest.raises(ValueError, match="no grapheme-to-phoneme converter for language 'ru'"):
        pretrain_text([str(tmp_path / "ru.jsonl")], [], tmp_path / "ru", _options(), log=print)


def test_the_command_line_turns_the_phoneme_tasks_on():
    from unheard.cli import _parser
    from unheard.recipes.commands import text_pretrain_options

    argv = ["pretrain-text", "--train", "t.jsonl", "--out", "o", "--instruct-share", "0.5",
            "--instruct-weights", "asr=2,st=1,translate=1,p2g=1,phon=1", "--phonemes",
            "--phoneme-sample", "500"]  # fmt: skip
    options = text_pretrain_options(_parser().parse_args(argv))
    assert options.phonemes and options.phoneme_sample == 500
    assert options.instruct_weights == WEIGHTS
    default = text_pretrain_options(_parser().parse_args(argv[:7]))
    assert not default.phonemes and default == TextPretrainOptions(instruct_share=0.5, d_ff=1024)


def test_no_text_or_phoneme_example_holds_a_dev_item_and_leaking_text_is_refused(corpus, tmp_path):
    """The split rule of `unheard train` holds for the text pretraining: every example the mix
    draws — copy, translation, p2g and phon — is made of training records only, and
    training text that holds a dev item is refused before a tokenizer reads it."""
    root, train, dev = corpus
    tokenizer = new_tokenizer(train, tmp_path / "tok", 300, phone_sample(train, 30))
    # no denoising: its inputs and answers are pieces of a record, which may spell a shorter
    # item ("zweitausendfünf" of "zweitausendfünfhundert…") without holding it
    mix = _mix(train, tokenizer, WEIGHTS, denoise_share=0.0)
    held_out = {r.text for r in dev} | {r.translation for r in dev}
    held_out |= {phonemize(r.text, r.language) for r in dev}
    trained = {r.text for r in train} | {r.translation for r in train}
    trained |= {phonemize(r.text, r.language) for r in train}
    answers = set()
    for _ in range(20):
        labels = mix.batch(64)["labels"]
        answers |= {tokenizer.decode(a[a >= 0], skip_special_tokens=True).strip() for a in labels}
    assert set(mix.drawn) == {"p2g", "phon", "asr", "st", "translate", "prefix"}
    # every answer is a training record's text, English or phones (and each example's source is
    # the same record's, test_batches_hold_p2g_and_phon_examples_in_the_asked_proportion)
    assert len(answers) > 300 and answers <= trained and not answers & held_out

    leaking = tmp_path / "leak.jsonl"
    write_parallel_text(leaking, [*train, dev[3]])
    with pytest.raises(ValueError, match=r"training text holds sentences of the dev/test data"):
        pretrain_text([str(leaking)], [str(root / "dev.jsonl")], tmp_path / "o", _options())
    assert not (tmp_path / "o" / "model").exists()  # refused before any tokenizer or model
