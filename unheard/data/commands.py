"""``unheard data …``: import corpora, check manifests, print statistics."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``unheard data`` and its subcommands."""
    data = sub.add_parser("data", help="import corpora, check and describe manifests")
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    imp = data_sub.add_parser(
        "import",
        help="turn a corpus release folder into manifests",
        description="Read a corpus in its own release layout (never downloading) and write "
        "JSONL manifests, one per language (pair) and split. Idempotent. hf-dataset reads a local "
        "Hugging Face dataset (a save_to_disk folder, parquet or arrow files), lhotse a CutSet "
        "(or --recordings and --supervisions).",
    )
    imp.add_argument(
        "corpus",
        help="covost2, commonvoice, fleurs, europarl-st, voxpopuli, mls, folder, hf-dataset, lhotse",
    )
    imp.add_argument(
        "source",
        type=Path,
        nargs="*",
        help="the corpus folder as released (hf-dataset: folders or files; lhotse: a CutSet)",
    )
    imp.add_argument("--out", type=Path, required=True, help="where the manifests go")
    imp.add_argument(
        "--languages", type=language_codes, default=None, help="comma-separated codes to keep"
    )
    imp.add_argument(
        "--exclude-languages", type=language_codes, default=(), help="comma-separated codes to drop"
    )
    imp.add_argument(
        "--language",
        help="the spoken language (folder: required; hf-dataset, lhotse: of every record)",
    )
    imp.add_argument(
        "--overwrite", action="store_true", help="rebuild manifests even when up to date"
    )
    other = imp.add_argument_group("hf-dataset and lhotse")
    other.add_argument("--translation-language", help="the language of every translation")
    other.add_argument("--split", help="the split of every record (default: from the data)")
    other.add_argument(
        "--corpus-name", help="the corpus in records and manifest names (default: from the data)"
    )
    other.add_argument("--recordings", type=Path, help="lhotse: a RecordingSet, instead of CUTS")
    other.add_argument("--supervisions", type=Path, help="lhotse: its SupervisionSet")
    columns = imp.add_argument_group("hf-dataset columns (default: found by their usual names)")
    for field in HF_COLUMN_FIELDS:
        columns.add_argument(f"--{field.replace('_', '-')}-column", metavar="COLUMN")
    imp.set_defaults(run=_import)

    export = data_sub.add_parser(
        "export",
        help="write manifests in another toolkit's format",
        description="lhotse: one CutSet (cuts.jsonl.gz, recordings.jsonl.gz, "
        "supervisions.jsonl.gz) with the translation, its language, the corpus and the split in "
        "each supervision's custom; NeMo and icefall read it.",
    )
    export.add_argument("format", choices=["lhotse"], help="lhotse")
    export.add_argument("manifests", nargs="+", type=Path)
    export.add_argument("--out", type=Path, required=True, help="output folder")
    export.set_defaults(run=_export)

    synth = data_sub.add_parser(
        "synth",
        help="synthesise the offline multilingual parallel corpus with espeak-ng",
        description="Numbers, ordinals, years, decimals, amounts of money (num2words), dates, "
        "unit phrases and country and language names (Babel/CLDR), written as words in each "
        "language and spoken by espeak-ng with varied voices, variants, speed and pitch; the "
        "English rendering is the ST reference. Split by item across all languages. Writes "
        "OUT/unheard-synth_<lang>_<split>.jsonl.gz with 16 kHz wavs, and text-only parallel data "
        "OUT/text/<lang>_<split>.jsonl. Deterministic per seed; idempotent.",
    )
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument(
        "--languages",
        type=language_codes,
        default=None,
        help="comma-separated codes, or 'all' (default: en,es,fr,it,pt,de,nl,ca)",
    )
    synth.add_argument(
        "--per-language", type=int, default=200, help="training utterances per language (200)"
    )
    synth.add_argument(
        "--text-per-language",
        type=int,
        default=None,
        help="training text items per language (default 20 x --per-language)",
    )
    synth.add_argument(
        "--dev-share", type=float, default=0.1, help="dev size as a share of train (0.1)"
    )
    synth.add_argument(
        "--test-share", type=float, default=0.1, help="test size as a share of train (0.1)"
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument(
        "--noise-snr-db",
        metavar="LO,HI",
        default=None,
        help="add white noise at an SNR drawn per utterance from LO..HI dB (default: none)",
    )
    synth.add_argument(
        "--kinds",
        type=language_codes,
        default=None,
        help="comma-separated item kinds to draw (cardinal, ordinal, year, decimal, currency, "
        "date, unit, territory, language; default all)",
    )
    synth.add_argument("--jobs", type=int, default=2, help="espeak-ng processes at a time (2)")
    synth.set_defaults(run=_synth)

    check = data_sub.add_parser(
        "check",
        help="read every record and its audio; list the bad ones",
        description="Loads every record's audio with the training checks (missing, empty, "
        "corrupt, too short/long, NaN). Exits 1 when any record is bad.",
    )
    check.add_argument("manifests", nargs="+", type=Path)
    check.add_argument("--max-duration", type=float, default=60.0, help="seconds (default 60)")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(run=_check)

    stats = data_sub.add_parser(
        "stats", help="hours and utterances per corpus, split, language and task"
    )
    stats.add_argument("manifests", nargs="+", type=Path)
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(run=_stats)


def language_codes(value: str) -> tuple[str, ...]:
    """An argparse ``type``: comma-separated language codes, stripped, at least one.

    Raises:
        argparse.ArgumentTypeError: for a value that names no code.
    """
    codes = tuple(c.strip() for c in value.split(",") if c.strip())
    if not codes:
        raise argparse.ArgumentTypeError("expected comma-separated language codes")
    return codes


# The fields of unheard.data.importers.hf_columns.HFColumns, each an --<field>-column option.
HF_COLUMN_FIELDS = (
    "audio",
    "text",
    "translation",
    "language",
    "translation_language",
    "speaker",
    "id",
    "split",
)
# Options that only some importers take: their attribute names, by importer.
_SHARED = ("translation_language", "split", "corpus_name")
IMPORTER_OPTIONS = {
    "hf-dataset": _SHARED + tuple(f"{field}_column" for field in HF_COLUMN_FIELDS),
    "lhotse": _SHARED + ("recordings", "supervisions"),
}


def _importer_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of prepare_hf_dataset or prepare_lhotse beyond the language filters.

    Raises:
        ValueError: for an option that the corpus's importer does not take.
    """
    every = {name for names in IMPORTER_OPTIONS.values() for name in names}
    misplaced = sorted(
        f"--{name.replace('_', '-')}"
        for name in every - set(IMPORTER_OPTIONS.get(args.corpus, ()))
        if getattr(args, name)
    )
    if misplaced:
        raise ValueError(f"{', '.join(misplaced)}: not an option of the {args.corpus} importer")
    if args.corpus not in IMPORTER_OPTIONS:
        return {}
    kwargs: dict[str, Any] = {"language": args.language, "corpus": args.corpus_name}
    kwargs |= {"translation_language": args.translation_language, "split": args.split}
    if args.corpus == "lhotse":
        return kwargs | {"recordings": args.recordings, "supervisions": args.supervisions}
    from unheard.data.importers.hf_columns import HFColumns

    columns = {field: getattr(args, f"{field}_column") for field in HF_COLUMN_FIELDS}
    return kwargs | {"columns": HFColumns(**columns)}


def _import(args: argparse.Namespace) -> int:
    from unheard.data.importers import IMPORTERS

    if args.corpus not in IMPORTERS:
        raise ValueError(f"unknown corpus {args.corpus!r}; known: {', '.join(sorted(IMPORTERS))}")
    kwargs: dict[str, Any] = {
        "languages": args.languages,
        "exclude_languages": args.exclude_languages,
    } | _importer_options(args)
    source: Any = args.source  # hf-dataset: every folder or file given
    if args.corpus == "lhotse":
        if len(args.source) > 1:
            raise ValueError("lhotse takes one CutSet (or --recordings and --supervisions)")
        source = args.source[0] if args.source else None
    elif args.corpus == "hf-dataset":
        if not args.source:
            raise ValueError("hf-dataset needs a save_to_disk folder, or parquet or arrow files")
    else:
        if len(args.source) != 1:
            raise ValueError(f"{args.corpus} takes one corpus folder, got {len(args.source)}")
        source = args.source[0]
        if not source.exists():
            raise FileNotFoundError(f"corpus folder {source} does not exist")
        if args.corpus == "folder":
            if not args.language:
                raise ValueError("the folder importer needs --language (the spoken language)")
            kwargs["language"] = args.language
        elif args.language:
            raise ValueError(
                "--language is for the folder, hf-dataset and lhotse importers; use --languages "
                "to filter"
            )
    written = IMPORTERS[args.corpus](source, args.out, **kwargs)
    for split, path in sorted(written.items()):
        print(f"{split}\t{path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from unheard.data.lhotse_export import export_lhotse

    export = export_lhotse(args.manifests, args.out)
    for path in (export.cuts, export.recordings, export.supervisions):
        print(path)
    skipped = f", skipped {export.skipped.total}: {export.skipped.summary()}"
    print(f"{export.utterances} cuts{skipped if export.skipped.total else ''}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from unheard.data.synth import (
        DEFAULT_LANGUAGES,
        LANGUAGES,
        SynthOptions,
        build_synth_corpus,
        parse_snr_range,
    )

    languages = args.languages or DEFAULT_LANGUAGES
    if languages == ("all",):
        languages = tuple(LANGUAGES)
    options = SynthOptions(
        languages=languages,
        per_language=args.per_language,
        text_per_language=args.text_per_language,
        dev_share=args.dev_share,
        test_share=args.test_share,
        seed=args.seed,
        noise_snr_db=None if args.noise_snr_db is None else parse_snr_range(args.noise_snr_db),
        kinds=args.kinds,
        jobs=args.jobs,
    )
    with tqdm(desc="espeak-ng", unit="utt", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        corpus = build_synth_corpus(args.out, options, progress)
    for (language, split), path in sorted(corpus.manifests.items()):
        print(f"{language}\t{split}\t{path}\t{corpus.texts[language, split]}")
    print(
        f"{corpus.utterances} utterances, {corpus.seconds / 3600:.2f} h "
        f"({corpus.synthesized} synthesised now); summary {corpus.summary}"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from unheard.data.loading import AudioLimits, check_manifests

    report = check_manifests(args.manifests, AudioLimits(max_duration_s=args.max_duration))
    if args.json:
        print(
            json.dumps(
                {
                    "good": report.good,
                    "bad": len(report.bad),
                    "hours": report.seconds / 3600,
                    "bad_records": [r.__dict__ for r in report.bad],
                },
                indent=2,
            )
        )
    else:
        print(f"good {report.good}  bad {len(report.bad)}  ({report.seconds / 3600:.3f} h good)")
        for r in report.bad:
            print(f"  {r.id or '<no id>'}\t{r.reason}\t({r.source})")
    return 1 if report.bad else 0


def manifest_stats(paths: list[Path]) -> dict[str, dict[str, dict[str, float]]]:
    """Hours and utterances by corpus, split, language and task.

    Returns:
        ``{"corpus"|"split"|"language"|"task": {value: {"utterances": n, "hours": h}}}``; an
        utterance counts once per task it has text for (asr: transcript, st: translation).
    """
    from unheard.data.manifest import read_manifest

    table: dict[str, dict[str, dict[str, float]]] = {
        k: defaultdict(lambda: {"utterances": 0, "hours": 0.0})
        for k in ("corpus", "split", "language", "task")
    }
    for path in paths:
        for u in read_manifest(path):
            hours = u.duration / 3600
            tasks = [t for t, has in (("asr", u.text), ("st", u.translation)) if has]
            keys = {"corpus": u.corpus or "-", "split": u.split or "-", "language": u.language}
            for kind, value in keys.items():
                table[kind][value]["utterances"] += 1
                table[kind][value]["hours"] += hours
            for task in tasks or ["none"]:
                table["task"][task]["utterances"] += 1
                table["task"][task]["hours"] += hours
    return {k: dict(sorted(v.items())) for k, v in table.items()}


def _stats(args: argparse.Namespace) -> int:
    stats = manifest_stats(args.manifests)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for kind, rows in stats.items():
        print(f"{kind}:")
        for value, row in rows.items():
            print(f"  {value:<16} {int(row['utterances']):>9,} utt  {row['hours']:>9.3f} h")
    return 0
