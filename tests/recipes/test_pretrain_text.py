"""Text pretraining of the mini track's mT5: span corruption and a short run that saves a model
the SpeechLLM loads like a hub mT0."""

from __future__ import annotations

import json
import random

from num2words import num2words

from unheard.build import build_speech_llm, load_tokenizer
from unheard.config import ModelConfig
from unheard.recipes.pretrain_text import TextPretrainOptions, pretrain_text, span_corrupt


def test_span_corruption_masks_spans_and_the_target_restores_them():
    rng = random.Random(0)
    sentinels = [1000 + i for i in range(32)]
    for n in (1, 2, 5, 20, 60):
        ids = list(range(10, 10 + n))
        inputs, targets = span_corrupt(ids, sentinels, rng, density=0.15, mean_span=3.0)
        used = [t for t in inputs if t in sentinels]
        assert used == sentinels[: len(used)] and len(used) >= 1
        assert targets[-1] == sentinels[len(used)]  # the closing sentinel
        # filling each sentinel of the input with its span from the target gives the original
        spans, current = {}, None
        for t in targets[:-1]:
            if t in sentinels:
                current = t
                spans[current] = []
            else:
                spans[current].append(t)
        restored = [tok for t in inputs for tok in (spans[t] if t in sentinels else [t])]
        assert restored == ids
        masked = sum(len(s) for s in spans.values())
        assert 1 <= masked <= max(1, round(0.15 * n))


def test_short_pretraining_saves_an_mt5_the_speech_llm_loads(tmp_path):
    path = tmp_path / "train.jsonl"
    with path.open("w") as f:
        for n in range(60):
            for lang in ("es", "fr", "en"):
                f.write(json.dumps({"language": lang, "text": num2words(n, lang=lang),
                                    "translation": num2words(n, lang="en")}) + "\n")  # fmt: skip
    options = TextPretrainOptions(
        steps=30, batch_size=16, d_model=64, d_ff=128, layers=2, vocab_size=300, warmup_steps=5
    )
    metrics = pretrain_text([str(path)], [str(path)], tmp_path / "out", options, log=print)
    assert set(metrics["translation_exact_match"]) == {"en", "es", "fr"}
    model = build_speech_llm(ModelConfig(encoder="tiny:whisper", llm=str(tmp_path / "out/model")))
    assert model.is_encoder_decoder and model.llm.config.model_type == "mt5"
    tokenizer = load_tokenizer(ModelConfig(encoder="tiny:whisper", llm=str(tmp_path / "out/model")))
    assert "<extra_id_0>" in tokenizer.get_vocab()


class _Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_model(tmp_path):
    import pytest
    import torch
    from safetensors.torch import load_file

    path = tmp_path / "train.jsonl"
    with path.open("w") as f:
        for n in range(40):
            for lang in ("es", "en"):
                f.write(json.dumps({"language": lang, "text": num2words(n, lang=lang),
                                    "translation": num2words(n, lang="en")}) + "\n")  # fmt: skip
    options = TextPretrainOptions(
        steps=6, batch_size=8, d_model=64, d_ff=128, layers=1, vocab_size=200, warmup_steps=2,
        save_every=3, probe_every=3, eval_per_language=2,
    )  # fmt: skip
    pretrain_text([str(path)], [str(path)], tmp_path / "straight", options, log=print)

    def stop_at_first_probe(line: str) -> None:
        if "probe" in line:  # step 3: its checkpoint is written, then the run "crashes"
            raise _Interrupted(line)

    with pytest.raises(_Interrupted):
        pretrain_text([str(path)], [str(path)], tmp_path / "cut", options, stop_at_first_probe)
    assert json.loads((tmp_path / "cut/checkpoint/state.json").read_text())["step"] == 3
    lines = []
    pretrain_text([str(path)], [str(path)], tmp_path / "cut", options, log=lines.append)
    assert any("resumed from" in x and "step 3" in x for x in lines)
    assert not (tmp_path / "cut/checkpoint").exists()  # finished: only the model is kept
    straight = load_file(str(tmp_path / "straight/model/model.safetensors"))
    resumed = load_file(str(tmp_path / "cut/model/model.safetensors"))
    assert straight.keys() == resumed.keys()
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, atol=1e-6, rtol=1e-5)
    changed = TextPretrainOptions(**{**options.__dict__, "lr": 5e-4})
    with pytest.raises(_Interrupted):
        pretrain_text([str(path)], [str(path)], tmp_path / "other", options, stop_at_first_probe)
    with pytest.raises(ValueError, match="other options"):
        pretrain_text([str(path)], [str(path)], tmp_path / "other", changed, log=print)
