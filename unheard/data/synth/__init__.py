"""The offline multilingual parallel speech corpus (``unheard data synth``).

Modules, in reading order: `languages` (what each tool calls a language and what it renders
well), `items` (what is said, before any language), `render` (an item in words of one language),
`selection` (which item goes to which split, across all languages), `voices` (espeak-ng voice,
variant, speed and pitch per utterance), `parallel_text` (the text-only files and their reader),
`corpus` (the builder: synthesis, manifests, text files).
"""

from unheard.data.synth.corpus import (
    CORPUS,
    SynthCorpus,
    SynthOptions,
    build_synth_corpus,
    parse_snr_range,
)
from unheard.data.synth.items import Item, item_stream
from unheard.data.synth.languages import DEFAULT_LANGUAGES, KINDS, LANGUAGES, LanguageSpec
from unheard.data.synth.parallel_text import (
    ParallelText,
    parallel_text_path,
    read_parallel_text,
)
from unheard.data.synth.render import Unrenderable, render
from unheard.data.synth.selection import SPLITS, Rendered, select_items, split_of

__all__ = [
    "CORPUS",
    "DEFAULT_LANGUAGES",
    "KINDS",
    "LANGUAGES",
    "SPLITS",
    "Item",
    "LanguageSpec",
    "ParallelText",
    "Rendered",
    "SynthCorpus",
    "SynthOptions",
    "Unrenderable",
    "build_synth_corpus",
    "item_stream",
    "parallel_text_path",
    "parse_snr_range",
    "read_parallel_text",
    "render",
    "select_items",
    "split_of",
]
