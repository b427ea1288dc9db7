"""Load test of ``unheard serve`` on loopback: latency and throughput with batching on and off.

    .venv/bin/python benchmarks/serve.py [--clients 16] [--seconds 30] [--max-batch 8] [--max-wait-ms 20] [--threads 1]

The server runs in this process on 127.0.0.1 (a free port), once with batching on
(``--max-batch`` requests gathered for up to ``--max-wait-ms``) and once with it off (batches of
one), each for ``--seconds``. ``--clients`` threads, each with its own official ``openai`` client,
post espeak-ng number clips (WAV, 4 languages, 0.6-1.6 s) to ``/v1/audio/transcriptions`` back to
back until the time is up; requests under way then finish, so the test is bounded. The model is
that of ``benchmarks/decode.py``: a w2v-BERT-shaped encoder and an mT5-shaped LLM (256 wide, 4
layers), random, its trained parts perturbed so that answers run to the length limit (the worst
case for a decoder). Prints p50/p95 latency, requests and audio-seconds per second, the mean
batch size, and the count of 5xx answers and failed connections; exits 1 if there is any.
``benchmarks/gpu.py`` runs the same load with `stdlib_client` where ``openai`` is not installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
import torch
from transformers.utils import logging as hf_logging

from unheard.build import build_speech_llm
from unheard.checkpoint import save_checkpoint
from unheard.data.espeak import make_number_corpus
from unheard.data.manifest import read_manifest
from unheard.serving.api import load
from unheard.serving.batcher import BatchOptions
from unheard.serving.server import ServerOptions, create_app, serve_in_background
from unheard.tiny import perturb_trained

sys.path.insert(0, str(Path(__file__).parent))
from decode import build  # noqa: E402 — the decoding benchmark's model, shared

MAX_SECONDS = 600  # a load test stops by itself


def make_checkpoint(directory: Path, texts: list[str]) -> Path:
    """The decoding benchmark's model, trained parts perturbed, saved as a checkpoint."""
    config = build(directory / "models", texts)
    model = build_speech_llm(config)
    torch.manual_seed(0)
    perturb_trained(model)  # so that the model writes something
    return save_checkpoint(model, config, directory / "checkpoint")


Client = Callable[[str], Callable[[bytes], int]]  # base URL -> (WAV bytes -> HTTP status)


def openai_client(url: str) -> Callable[[bytes], int]:
    """A transcription call through the official ``openai`` client: returns the HTTP status;
    raises ConnectionError when no answer came."""
    import openai

    api = openai.OpenAI(api_key="bench", base_url=url + "/v1", max_retries=0, timeout=300)

    def transcribe(clip: bytes) -> int:
        try:
            api.audio.transcriptions.create(file=("clip.wav", clip), model="unheard")
        except openai.APIStatusError as e:
            return e.status_code
        except openai.APIConnectionError as e:
            raise ConnectionError(repr(e)) from e
        return 200

    return transcribe


def stdlib_client(url: str) -> Callable[[bytes], int]:
    """The same multipart POST with ``urllib`` alone (for machines without ``openai``)."""

    def transcribe(clip: bytes) -> int:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nunheard\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.wav"'
            "\r\nContent-Type: audio/wav\r\n\r\n",
        ]
        body = "".join(parts).encode() + clip + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            url + "/v1/audio/transcriptions", data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as e:  # an answer with a 4xx/5xx status
            return e.code
        except OSError as e:  # refused, reset, timed out: no answer
            raise ConnectionError(repr(e)) from e

    return transcribe


def run_clients(
    url: str, clips: list[bytes], clients: int, seconds: float, client: Client = openai_client
) -> dict[str, list]:
    """``clients`` threads posting clips back to back for ``seconds``; latencies and failures."""
    results: dict[str, list] = {"latency_s": [], "status": [], "errors": []}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        transcribe = client(url)
        n = index
        while time.monotonic() < deadline:
            clip = clips[n % len(clips)]
            n += clients
            started = time.perf_counter()
            try:
                status = transcribe(clip)
            except ConnectionError as e:
                with lock:
                    results["errors"].append(str(e))
                continue
            with lock:
                results["latency_s"].append(time.perf_counter() - started)
                results["status"].append(status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def measure(
    stt, clips, audio_s, batch: BatchOptions, args, client: Client = openai_client
) -> dict[str, float]:
    """Serve with ``batch`` settings, run ``args.clients`` clients for ``args.seconds``,
    summarise."""
    app = create_app(stt, ServerOptions(batch=batch))
    with serve_in_background(app) as url:
        run_clients(url, clips[:2], 2, 0.1, client)  # warm-up: a request or two each
        batcher = app.state.batcher
        before = (batcher.batches, batcher.requests)
        started = time.perf_counter()
        results = run_clients(url, clips, args.clients, args.seconds, client)
        wall = time.perf_counter() - started
        batches, requests = batcher.batches - before[0], batcher.requests - before[1]
    latency = np.array(results["latency_s"])
    status = np.array(results["status"])
    ok = status == 200
    return {
        "requests": len(status),
        "ok": int(ok.sum()),
        "4xx": int(((status >= 400) & (status < 500)).sum()),
        "5xx": int((status >= 500).sum()),
        "errors": len(results["errors"]),
        "p50_s": float(np.percentile(latency, 50)) if len(latency) else float("nan"),
        "p95_s": float(np.percentile(latency, 95)) if len(latency) else float("nan"),
        "req_per_s": ok.sum() / wall,
        "audio_s_per_s": ok.sum() * audio_s / wall,  # mean clip length x answered requests
        "mean_batch": requests / batches if batches else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--seconds", type=float, default=30.0, help="per setting (30, max 600)")
    parser.add_argument("--max-batch", type=int, default=8, help="batching on: most per batch")
    parser.add_argument("--max-wait-ms", type=float, default=20.0, help="batching on: wait (20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1; 0: default)")
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS or args.clients < 1:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}] and --clients >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    with tempfile.TemporaryDirectory() as tmp:
        manifest = make_number_corpus(Path(tmp) / "corpus", ("en", "es", "de", "fr"), 4, seed=0)
        utterances = read_manifest(manifest)
        texts = [u.text for u in utterances] + [u.translation for u in utterances]
        stt = load(make_checkpoint(Path(tmp), [*texts, "Transcribe the audio."] * 4))
        clips = [(manifest.parent / u.audio).read_bytes() for u in utterances]
        audio_s = float(
            np.mean([soundfile.info(manifest.parent / u.audio).duration for u in utterances])
        )
        settings = {
            "batching on": BatchOptions(args.max_batch, args.max_wait_ms / 1000),
            "batching off": BatchOptions(max_batch=1, max_wait_s=0.0),
        }
        rows = {name: measure(stt, clips, audio_s, batch, args) for name, batch in settings.items()}

    print(
        f"{args.clients} clients x {args.seconds:g} s per setting, {len(clips)} clips of "
        f"{audio_s:.2f} s mean; torch {torch.__version__} with {torch.get_num_threads()} "
        f"thread(s), {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':14}{'requests':>9}{'5xx':>5}{'err':>5}{'p50 s':>8}{'p95 s':>8}{'req/s':>8}"
          f"{'audio-s/s':>11}{'batch':>7}")  # fmt: skip
    for name, r in rows.items():
        print(
            f"{name:14}{r['requests']:>9}{r['5xx']:>5}{r['errors']:>5}{r['p50_s']:>8.2f}"
            f"{r['p95_s']:>8.2f}{r['req_per_s']:>8.2f}{r['audio_s_per_s']:>11.2f}"
            f"{r['mean_batch']:>7.1f}"
        )
    on, off = rows["batching on"], rows["batching off"]
    print(
        f"batching on vs off: {on['req_per_s'] / off['req_per_s']:.2f}x throughput, "
        f"p50 {on['p50_s'] / off['p50_s']:.2f}x, p95 {on['p95_s'] / off['p95_s']:.2f}x"
    )
    failed = sum(r["5xx"] + r["errors"] + r["4xx"] for r in rows.values())
    if failed:
        print(f"FAILED: {failed} request(s) got 4xx/5xx or no answer", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
