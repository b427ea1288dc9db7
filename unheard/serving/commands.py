"""``unheard transcribe``, ``unheard translate`` and ``unheard serve``.

Heavy imports (torch, transformers, FastAPI, uvicorn) happen inside the handlers, so
``unheard --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

FILE_FORMATS = ("text", "json", "srt", "vtt")
EXTENSIONS = {"text": ".txt", "json": ".json", "srt": ".srt", "vtt": ".vtt"}
WINDOW_NOTE = (
    "Long audio is cut into fixed windows of --window-seconds (at most the encoder's own: "
    "Whisper's 30 s) overlapping by --overlap-seconds; words repeated across an overlap are "
    "written once, and subtitle times come from the windows."
)


def add_parser(subparsers: Any) -> None:
    """Add ``transcribe``, ``translate`` and ``serve`` to the ``unheard`` subcommands.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers`` returned.
    """
    for name, task in (("transcribe", "asr"), ("translate", "st")):
        verb = "transcript" if task == "asr" else "translation"
        p = subparsers.add_parser(
            name,
            help=f"write the {verb} of audio files (text, JSON, SRT or WebVTT)",
            description=f"Write the {verb} of each FILE (any audio ffmpeg reads) with CHECKPOINT; "
            f"all files' windows are decoded in shared batches. {WINDOW_NOTE}",
        )
        p.add_argument(
            "checkpoint", help="checkpoint folder (checkpoints/step-N) or hub id (USER/NAME)"
        )
        p.add_argument("files", nargs="+", metavar="FILE", help="audio files")
        if task == "st":
            p.add_argument("--to", default="en", help="language to translate into (default en)")
        p.add_argument("--language", default=None, help="the spoken language's code, if known")
        p.add_argument(
            "--format", choices=FILE_FORMATS, default="text", help="output format (default text)"
        )
        p.add_argument(
            "--out-dir", default=None,
            help="write FILE's stem + .txt/.json/.srt/.vtt here instead of printing",
        )  # fmt: skip
        _add_model_options(p)
        p.set_defaults(run=_files, task=task)

    s = subparsers.add_parser(
        "serve",
        help="OpenAI-compatible HTTP server (/v1/audio/transcriptions, /translations) + web page",
        description="Serve CHECKPOINT over HTTP: POST /v1/audio/transcriptions and "
        "/v1/audio/translations (OpenAI's audio API), GET /v1/models, GET /health, and a web page "
        "at / to upload or record audio. Concurrent requests are decoded in batches. "
        + WINDOW_NOTE,
    )
    s.add_argument(
        "checkpoint", help="checkpoint folder (checkpoints/step-N) or hub id (USER/NAME)"
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (8000)")
    s.add_argument(
        "--api-key", default=os.environ.get("UNHEARD_API_KEY"),
        help="require 'Authorization: Bearer KEY' (default: $UNHEARD_API_KEY, else no key)",
    )  # fmt: skip
    s.add_argument("--model-name", default=None, help="id in /v1/models (the checkpoint's name)")
    s.add_argument("--max-batch", type=int, default=8, help="most requests per batch; 1: off (8)")
    s.add_argument(
        "--max-wait-ms", type=float, default=20.0,
        help="longest a request waits for others to join its batch (20)",
    )  # fmt: skip
    s.add_argument(
        "--max-queue", type=int, default=64,
        help="most requests waiting for the model; one more gets 503 (64; 0: no limit)",
    )  # fmt: skip
    s.add_argument("--max-upload-mb", type=float, default=25.0, help="largest upload in MiB (25)")
    s.add_argument(
        "--max-audio-seconds", type=float, default=600.0, help="longest audio accepted (600)"
    )
    _add_model_options(s)
    s.set_defaults(run=_serve)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--window-seconds", type=float, default=20.0, help="longest window (20)")
    p.add_argument("--overlap-seconds", type=float, default=2.0, help="window overlap (2)")
    p.add_argument("--beam", type=int, default=1, help="beam size; 1 is greedy (default 1)")
    p.add_argument("--batch-size", type=int, default=16, help="most windows per generate() (16)")
    p.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1, mps, ... (default: CUDA, then another accelerator, then the CPU)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (torch's default)")


def _load(args: argparse.Namespace) -> Any:
    import torch
    from transformers.utils import logging as hf_logging

    from unheard.decoding.decode import DecodeOptions
    from unheard.serving.api import load
    from unheard.serving.windows import WindowOptions

    hf_logging.disable_progress_bar()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    options = DecodeOptions(batch_size=args.batch_size, num_beams=args.beam)
    windows = WindowOptions(args.window_seconds, args.overlap_seconds)
    return load(args.checkpoint, device=args.device, options=options, windows=windows)


def _files(args: argparse.Namespace) -> int:
    from unheard.serving.api import AudioTask, read_audio
    from unheard.serving.formats import render, verbose_dict

    stt = _load(args)  # options are validated before any file is read
    tasks = []
    for file in args.files:
        try:
            audio = read_audio(file)
        except (OSError, ValueError) as e:
            raise ValueError(f"{file}: {e}") from e
        tasks.append(AudioTask(audio, args.task, args.language, getattr(args, "to", "en")))
    transcripts = stt.run(tasks)
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    for file, transcript in zip(args.files, transcripts, strict=True):
        if args.format == "json":
            document = json.dumps({"file": file, **verbose_dict(transcript)}, ensure_ascii=False)
            document += "\n"  # JSON Lines on stdout: one object per file
        else:
            document = render(transcript, args.format)
        if out_dir:
            (out_dir / (Path(file).stem + EXTENSIONS[args.format])).write_text(document, "utf-8")
        elif len(args.files) > 1 and args.format != "json":
            sys.stdout.write(f"==> {file} <==\n{document}\n")
        else:
            sys.stdout.write(document)
    if out_dir:
        print(f"wrote {len(transcripts)} file(s) to {out_dir}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from unheard.serving.batcher import BatchOptions
    from unheard.serving.server import ServerOptions, create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = ServerOptions(
        model_name=args.model_name,
        api_key=args.api_key or None,
        max_upload_bytes=round(args.max_upload_mb * 2**20),
        max_audio_s=args.max_audio_seconds,
        max_queue=args.max_queue,
        batch=BatchOptions(args.max_batch, args.max_wait_ms / 1000),
    )  # validated before the model loads
    app = create_app(_load(args), options)
    print(f"unheard serve: http://{args.host}:{args.port}/ (API under /v1)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
