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
        "JSONL manifests, one per language (pair) and split. Idempotent.",
    )
    imp.add_argument(
        "corpus", help="covost2, commonvoice, fleurs, europarl-st, voxpopuli, mls, folder"
    )
    imp.add_argument("source", type=Path, help="the corpus folder as released")
    imp.add_argument("--out", type=Path, required=True, help="where the manifests go")
    imp.add_argument(
        "--languages", type=language_codes, default=None, help="comma-separated codes to keep"
    )
    imp.add_argument(
        "--exclude-languages", type=language_codes, default=(), help="comma-separated codes to drop"
    )
    imp.add_argument("--language", help="the spoken language (folder importer only)")
    imp.add_argument(
        "--overwrite", action="store_true", help="rebuild manifests even when up to date"
    )
    imp.set_defaults(run=_import)

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


def _import(args: argparse.Namespace) -> int:
    from unheard.data.importers import IMPORTERS

    if args.corpus not in IMPORTERS:
        raise ValueError(f"unknown corpus {args.corpus!r}; known: {', '.join(sorted(IMPORTERS))}")
    if not args.source.exists():
        raise FileNotFoundError(f"corpus folder {args.source} does not exist")
    kwargs: dict[str, Any] = {
        "languages": args.languages,
        "exclude_languages": args.exclude_languages,
    }
    if args.corpus == "folder":
        if not args.language:
            raise ValueError("the folder importer needs --language (the spoken language)")
        kwargs["language"] = args.language
    elif args.language:
        raise ValueError("--language is for the folder importer; use --languages to filter")
    written = IMPORTERS[args.corpus](args.source, args.out, **kwargs)
    for split, path in sorted(written.items()):
        print(f"{split}\t{path}")
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
