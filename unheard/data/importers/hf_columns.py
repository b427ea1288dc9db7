"""Which column of a Hugging Face dataset holds what, and each row's fields but its audio.

Columns are found by the names the common exports use, first match wins, unless named
(`HFColumns`):

| field | columns tried |
|---|---|
| audio | ``audio`` (the ``datasets`` Audio struct ``{bytes, path}``, or ``{array, sampling_rate}``), a binary column, or a path in ``audio``, ``path``, ``file``, ``audio_path``, ``audio_filepath``, ``filename``, ``file_name`` |
| text | ``sentence``, ``text``, ``raw_transcription``, ``transcription``, ``transcript``, ``normalized_text`` |
| translation | ``translation``: a string, or ``{language: text}`` (the ``datasets`` Translation feature) |
| language | ``locale``, ``language``, ``lang``, ``src_lang``, ``source_language``: codes or English names |
| translation language | ``translation_language``, ``tgt_lang``, ``target_language``, ``target_lang`` |
| speaker | ``client_id``, ``speaker_id``, ``speaker`` |
| split | ``split`` (else the layout's, `unheard.data.importers.hf_tables`) |
| id | ``id``, ``utt_id``, ``utterance_id``, ``segment_id``, ``key`` |

``raw_transcription`` comes before ``transcription``, as in the FLEURS importer: FLEURS' raw text
is cased and punctuated, its ``transcription`` normalized. A language or split given as an option
wins over columns. Without a language column the language must be given; with a translation
column, so must the translation's language unless a column names it.

Ids: a named id column's values (a repeated id is marked, and skipped later); else the first of
the id columns, the file stems of path columns and the stem of the audio's own path whose values
every row has, all different (CoVoST 2's ``id``, Common Voice's ``path`` stem, FLEURS' ``path``
stem, since its ``id`` is the sentence's, shared by its speakers); else ``<split>-<row>``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from unheard.data.importers.hf_tables import TablePart
from unheard.data.importers.languages import language_code
from unheard.data.importers.recipe import Skips, split_name

CANDIDATES = {
    "audio": ("audio", "path", "file", "audio_path", "audio_filepath", "filename", "file_name"),
    "text": (
        "sentence",
        "text",
        "raw_transcription",
        "transcription",
        "transcript",
        "normalized_text",
    ),
    "translation": ("translation",),
    "language": ("locale", "language", "lang", "src_lang", "source_language"),
    "translation_language": ("translation_language", "tgt_lang", "target_language", "target_lang"),
    "speaker": ("client_id", "speaker_id", "speaker"),
    "split": ("split",),
    "id": ("id", "utt_id", "utterance_id", "segment_id", "key"),
}
_PATH_COLUMNS = CANDIDATES["audio"][1:]  # string columns whose file stems may serve as ids


@dataclass(frozen=True)
class HFColumns:
    """The columns that hold each field; ``None`` finds one by the names in `CANDIDATES`."""

    audio: str | None = None  # Audio struct, bytes, or a path
    text: str | None = None  # transcript
    translation: str | None = None  # translation, a string or {language: text}
    language: str | None = None  # spoken language, a code or an English name
    translation_language: str | None = None  # the translation's language
    speaker: str | None = None
    id: str | None = None  # unique ids; duplicates are skipped
    split: str | None = None  # the row's split


@dataclass(frozen=True)
class RowOptions:
    """What the caller says about every row, winning over columns."""

    columns: HFColumns = dataclasses.field(default_factory=HFColumns)
    language: str | None = None  # the spoken language of every row
    translation_language: str | None = None  # the language of every translation
    split: str | None = None  # the split of every row


@dataclass
class Row:
    """What a row says, but for its audio's bytes."""

    part: int  # which table
    index: int  # row number in that table
    names: dict[str, str]  # id candidates: column → value (file stems for path columns)
    text: str | None
    translation: str | None
    language: str  # ISO 639-1; "" where unknown
    translation_language: str | None
    speaker: str | None
    split: str
    audio_path: str | None  # where the audio is a path (or the Audio struct's path field)
    needs_text: bool  # the table has a text column: a row without text is bad
    needs_translation: bool  # the table has translations: a row without one is bad
    id: str = ""
    duplicate: bool = False  # a named id column repeats this row's id


@dataclass(frozen=True)
class TableColumns:
    """The columns found in one table, by field (None where absent)."""

    fields: dict[str, str | None]
    audio_is_path: bool  # the audio column holds paths, not the audio itself

    @property
    def audio(self) -> str:
        """The audio column, always present."""
        audio = self.fields["audio"]
        assert audio is not None, "_resolve refuses tables without audio"
        return audio


def _type_is(kind: str, type_: object) -> bool:
    from pyarrow import types

    checks = {
        "string": (types.is_string, types.is_large_string),
        "binary": (types.is_binary, types.is_large_binary),
        "struct": (types.is_struct,),
        "integer": (types.is_integer,),
    }
    return any(check(type_) for check in checks[kind])


# The kinds of column each field may be found in, in order of preference.
_KINDS = {
    "audio": ("struct", "binary", "string"),  # an Audio struct before a path column
    "translation": ("string", "struct"),
    "speaker": ("string", "integer"),
    "id": ("string", "integer"),
}


def _resolve(part: TablePart, options: RowOptions) -> dict[str, str | None]:
    """Each field's column in one table, named or found; None where there is none.

    Raises:
        ValueError: for a named column the table lacks, or a field that is needed and missing.
    """
    resolved: dict[str, str | None] = {}
    for field in dataclasses.fields(HFColumns):
        given = getattr(options.columns, field.name)
        if given is not None and given not in part.columns:
            raise ValueError(
                f"{part.name} has no column {given!r} (for {field.name}); its columns: "
                f"{', '.join(part.columns)}"
            )
        resolved[field.name] = given or next(
            (
                name
                for kind in _KINDS.get(field.name, ("string",))
                for name in CANDIDATES[field.name]
                if name in part.columns and _type_is(kind, part.columns[name])
            ),
            None,
        )
    tried = {field: ", ".join(names) for field, names in CANDIDATES.items()}
    if resolved["audio"] is None:
        raise ValueError(
            f"{part.name} has no audio column (tried {tried['audio']}); name it with "
            f"--audio-column; its columns: {', '.join(part.columns)}"
        )
    if resolved["text"] is None and resolved["translation"] is None:
        raise ValueError(
            f"{part.name} has no text column (tried {tried['text']}) nor translation; name it "
            f"with --text-column; its columns: {', '.join(part.columns)}"
        )
    if resolved["language"] is None and options.language is None:
        raise ValueError(
            f"{part.name} has no language column (tried {tried['language']}); give the spoken "
            f"language with --language"
        )
    translation = resolved["translation"]
    if (
        translation is not None
        and not _type_is("struct", part.columns[translation])  # {language: text} names it
        and resolved["translation_language"] is None
        and options.translation_language is None
    ):
        raise ValueError(
            f"{part.name} has translations but no column naming their language (tried "
            f"{tried['translation_language']}); give it with --translation-language"
        )
    return resolved


def _text(value: object) -> str | None:
    """A text value with its whitespace collapsed; None when there is none."""
    return (" ".join(str(value).split()) or None) if value is not None else None


def _translation(value: object, language: str | None) -> tuple[str | None, str | None]:
    """``(translation, its language)`` from a string, or from ``{language: text}``."""
    if not isinstance(value, dict):
        return _text(value), language
    texts = {code: text for code, text in value.items() if _text(text)}
    if language is None and len(texts) == 1:
        language = next(iter(texts))
    return _text(texts.get(language)) if language else None, language


def _code(value: object, where: str, skips: Skips, what: str = "language") -> str | None:
    """The ISO 639-1 code of a language value; ``""`` (counted) for an unknown one, None for
    none."""
    if value is None or not str(value).strip():
        return None
    try:
        return language_code(str(value))
    except ValueError:
        skips.add(f"unknown {what}", f"{where}: {value!r}")
        return ""


def _audio_path_column(part: TablePart, audio: str) -> str | None:
    """The column to read the audio's path from without its bytes (the struct's ``path``)."""
    type_ = part.columns[audio]
    if _type_is("string", type_):
        return audio
    if _type_is("struct", type_) and type_.get_field_index("path") >= 0:
        return f"{audio}.path"
    return None


def read_rows(
    parts: list[TablePart], options: RowOptions, skips: Skips
) -> tuple[list[Row], list[TableColumns]]:
    """Read every row's fields but its audio's bytes, and give each row its id.

    Args:
        parts: the tables.
        options: what holds for every row.
        skips: where rows without a language, or with one that is neither a code nor an English
            name, are counted.

    Returns:
        The rows that have a language, in table order, and each table's columns.

    Raises:
        ValueError: for a named column a table lacks, or a field that is needed and missing.
    """
    rows: list[Row] = []
    tables = []
    for number, part in enumerate(parts):
        columns = _resolve(part, options)
        audio_is_path = _type_is("string", part.columns[columns["audio"] or ""])
        tables.append(TableColumns(dict(columns), audio_is_path))
        path_column = _audio_path_column(part, columns.pop("audio") or "")
        # Id candidates, in order: the id column, then file stems of path columns.
        stem_columns = [name for name in _PATH_COLUMNS if name in part.columns]
        stem_columns = [name for name in stem_columns if _type_is("string", part.columns[name])]
        stem_columns += [path_column] if path_column and path_column not in stem_columns else []
        reading = sorted({c for c in [*columns.values(), *stem_columns] if c})
        index = 0
        for values in part.read(reading):
            for i in range(len(values[reading[0]])):
                get = {field: values[c][i] if c else None for field, c in columns.items()}
                names = {"id": str(get["id"])} if get["id"] not in (None, "") else {}
                for column in stem_columns:
                    if values[column][i]:
                        names[column] = Path(values[column][i]).stem
                where = f"{part.name} row {index}"
                language = _code(options.language or get["language"], where, skips)
                translation, target = _translation(
                    get["translation"],
                    options.translation_language or _text(get["translation_language"]),
                )
                target = (
                    _code(target, where, skips, "translation language") if translation else None
                )
                if language is None:
                    skips.add("missing language", where)
                if target == "":
                    language = ""  # counted: an unknown translation language
                rows.append(
                    Row(
                        part=number,
                        index=index,
                        names=names,
                        text=_text(get["text"]),
                        translation=translation,
                        language=language or "",
                        translation_language=target,
                        speaker=_text(get["speaker"]),
                        split=split_name(options.split or _text(get["split"]) or part.split),
                        audio_path=values[path_column][i] if path_column else None,
                        needs_text=columns["text"] is not None,
                        needs_translation=columns["translation"] is not None,
                    )
                )
                index += 1
    _choose_ids(rows, explicit=options.columns.id is not None)
    return [row for row in rows if row.language], tables


def _choose_ids(rows: list[Row], explicit: bool) -> None:
    """Give each row its id: an explicit id column's (marking repeats), else the first candidate
    that every row has, unique; else ``<split>-<row>``."""
    if explicit:
        seen: set[str] = set()
        for number, row in enumerate(rows):
            row.id = row.names.get("id") or f"{row.split}-{number:06d}"
            row.duplicate = row.id in seen
            seen.add(row.id)
        return
    for name in dict.fromkeys(name for row in rows for name in row.names):
        values = [row.names.get(name) for row in rows]
        if all(values) and len(set(values)) == len(values):
            for row, value in zip(rows, values, strict=True):
                row.id = str(value)
            return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.split] = counts.get(row.split, 0) + 1
        row.id = f"{row.split}-{counts[row.split] - 1:06d}"
