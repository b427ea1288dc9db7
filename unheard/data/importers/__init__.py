"""Importers: each corpus's own release layout → unheard manifests, one per language and split.

One ``prepare_<corpus>(source, out_dir, languages=None, exclude_languages=(), …)`` function per
corpus, in the spirit of lhotse's recipes: it reads the corpus as its authors publish it (it never
downloads), writes ``out_dir/<corpus>_<language or src-tgt pair>_<split>.jsonl.gz`` and returns
those paths by ``"<language or pair>_<split>"``. Importers are idempotent: a rerun leaves an
up-to-date manifest as it is, without reading audio, and rebuilds one whose metadata changed (see
`unheard.data.importers.recipe`). Records whose audio is missing or unreadable, or whose text is
empty, are skipped and counted in one warning per manifest.

Languages are ISO 639-1 codes in manifests and file names, whatever codes the corpus uses
(`unheard.data.importers.languages`); ``languages`` and ``exclude_languages`` take either. They
filter the *spoken* language; for speech translation corpora, ``target_languages`` filters the
translations.

| corpus | function | manifest example |
|---|---|---|
| ``covost2`` | `prepare_covost2` | ``covost2_ca-en_train.jsonl.gz`` |
| ``commonvoice`` | `prepare_commonvoice` | ``commonvoice_nl_dev.jsonl.gz`` |
| ``fleurs`` | `prepare_fleurs` | ``fleurs_ca_test.jsonl.gz`` |
| ``europarl-st`` | `prepare_europarl_st` | ``europarl-st_de-en_train-noisy.jsonl.gz`` |
| ``voxpopuli`` | `prepare_voxpopuli` | ``voxpopuli_en_test-accented.jsonl.gz`` |
| ``mls`` | `prepare_mls` | ``mls_nl_train.jsonl.gz`` |
| ``folder`` | `prepare_folder` (needs ``language=``) | ``folder_nl_train.jsonl.gz`` |
| ``hf-dataset`` | `prepare_hf_dataset` (a local Hugging Face dataset) | ``covost2_ca-en_dev.jsonl.gz`` |
| ``lhotse`` | `prepare_lhotse` (a CutSet, or recordings + supervisions) | ``librispeech_en_dev-clean.jsonl.gz`` |

``hf-dataset`` and ``lhotse`` need the extras ``unheard[datasets]`` and ``unheard[lhotse]``; they
name their corpus after the data (``corpus=`` overrides), and take one spoken language for all
records (``language=``) where the data names none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from unheard.data.importers.commonvoice import prepare_commonvoice
from unheard.data.importers.covost2 import prepare_covost2
from unheard.data.importers.europarl_st import prepare_europarl_st
from unheard.data.importers.fleurs import prepare_fleurs
from unheard.data.importers.folder import prepare_folder
from unheard.data.importers.hf_dataset import prepare_hf_dataset
from unheard.data.importers.lhotse_cuts import prepare_lhotse
from unheard.data.importers.mls import prepare_mls
from unheard.data.importers.voxpopuli import prepare_voxpopuli

# The corpus names of `unheard data import CORPUS SOURCE`, to their importer.
IMPORTERS: dict[str, Callable[..., dict[str, Path]]] = {
    "covost2": prepare_covost2,
    "commonvoice": prepare_commonvoice,
    "fleurs": prepare_fleurs,
    "europarl-st": prepare_europarl_st,
    "voxpopuli": prepare_voxpopuli,
    "mls": prepare_mls,
    "folder": prepare_folder,
    "hf-dataset": prepare_hf_dataset,
    "lhotse": prepare_lhotse,
}

__all__ = [
    "IMPORTERS",
    "prepare_commonvoice",
    "prepare_covost2",
    "prepare_europarl_st",
    "prepare_fleurs",
    "prepare_folder",
    "prepare_hf_dataset",
    "prepare_lhotse",
    "prepare_mls",
    "prepare_voxpopuli",
]
