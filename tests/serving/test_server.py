"""``unheard serve`` over real HTTP on loopback: the official openai client gets transcriptions
and translations equal to the Python API's; concurrent requests share batches; every bad request
gets a 4xx with a message and the server keeps serving."""

from __future__ import annotations

import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openai
import pytest
import soundfile

from unheard.data.espeak import synthesize
from unheard.serving.batcher import BatchOptions
from unheard.serving.server import ServerOptions, create_app, serve_in_background

try:  # the HTTP client the openai package ships with: httpx2 in its newer releases
    import httpx2 as http
except ImportError:  # pragma: no cover
    import httpx as http

MAX_UPLOAD = 200_000  # bytes: the 7 s WAV (224 kB) is over it
MAX_AUDIO_S = 10.0


@pytest.fixture(scope="module")
def server(stt):
    # a long wait makes batching certain in the test; the default is 20 ms
    options = ServerOptions(
        max_upload_bytes=MAX_UPLOAD, max_audio_s=MAX_AUDIO_S,
        batch=BatchOptions(max_batch=8, max_wait_s=0.3),
    )  # fmt: skip
    app = create_app(stt, options)
    with serve_in_background(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(api_key="unused", base_url=server[0] + "/v1", max_retries=0)


def test_openai_client_gets_transcriptions_in_every_format(client, stt, audio):
    path = audio["long.mp3"]
    expected = stt.transcribe(path)
    assert expected.text and len(expected.segments) >= 2
    with open(path, "rb") as f:
        result = client.audio.transcriptions.create(file=f, model="whisper-1")
    assert result.text == expected.text
    verbose = client.audio.transcriptions.create(
        file=path, model="unheard", response_format="verbose_json", language="fr"
    )
    assert (verbose.text, verbose.language, verbose.duration) == (expected.text, "french", 7.0)
    assert [(s.start, s.end, s.text) for s in verbose.segments] == [
        (round(s.start_s, 3), round(s.end_s, 3), s.text) for s in expected.segments
    ]
    for fmt in ("text", "srt", "vtt"):
        text = client.audio.transcriptions.create(file=path, model="x", response_format=fmt)
        assert text.strip().endswith(expected.segments[-1].text)
    srt = client.audio.transcriptions.create(file=path, model="x", response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:0") and "\n2\n00:00:0" in srt


def test_openai_client_gets_translations(client, stt, audio):
    path = audio["spanish.flac"]
    with warnings.catch_warnings():  # some openai releases deprecate translations
        warnings.simplefilter("ignore", DeprecationWarning)
        result = client.audio.translations.create(file=path, model="whisper-1")
        french = client.audio.translations.create(
            file=path, model="whisper-1", response_format="text", extra_body={"to": "fr"}
        )
    assert result.text == stt.translate(path).text
    assert french == stt.translate(path, to="fr").text + "\n"


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == ["checkpoint"]
    health = http.get(server[0] + "/health").json()
    assert health["status"] == "ok" and health["model"] == "checkpoint"


def test_concurrent_requests_are_decoded_in_shared_batches(server, stt, audio, tmp_path):
    url, app = server
    batcher = app.state.batcher
    clips = [synthesize(text, lang) for text, lang in (
        ("uno dos", "es"), ("hello there", "en"), ("un deux trois", "fr"),
        ("eins zwei", "de"), ("good morning", "en"), ("cuatro cinco seis", "es"),
    )]  # fmt: skip
    paths = []
    for i, clip in enumerate(clips):
        paths.append(tmp_path / f"clip{i}.wav")
        soundfile.write(paths[-1], clip, 16000)
    expected = [stt.transcribe(p).text for p in paths]
    before = (batcher.batches, batcher.requests)

    def post(path):
        client = openai.OpenAI(api_key="unused", base_url=url + "/v1", max_retries=0)
        return client.audio.transcriptions.create(file=path, model="x").text

    with ThreadPoolExecutor(len(paths)) as pool:
        texts = list(pool.map(post, paths))
    assert texts == expected
    batches, requests = batcher.batches - before[0], batcher.requests - before[1]
    assert requests == len(paths) and batches < requests, (batches, requests)


def test_bad_requests_get_4xx_with_a_message_and_the_server_goes_on(
    server, client, audio, tmp_path, convert
):
    url, _ = server
    endpoint = url + "/v1/audio/transcriptions"
    mp3 = audio["long.mp3"].read_bytes()
    wav = audio["short.wav"].read_bytes()
    convert(audio["long.wav"], tmp_path / "twelve.mp3", "-af", "apad=pad_dur=5")  # 12 s
    cases = {
        "no file": ({"data": {"model": "x"}}, 400, "no file"),
        "empty file": ({"files": {"file": ("a.wav", b"")}}, 400, "is empty"),
        "not audio": ({"files": {"file": ("a.mp3", b"ID3 but then just text")}}, 400, "cannot decode"),
        "truncated mp3": ({"files": {"file": ("a.mp3", mp3[: len(mp3) // 2])}}, 400, "truncated"),
        "mp3 header only": ({"files": {"file": ("a.mp3", mp3[:400])}}, 400, "truncated"),
        "too large": ({"files": {"file": ("a.wav", audio["long.wav"].read_bytes())}}, 413, "at most 0.19 MiB"),
        "too long": ({"files": {"file": ("a.mp3", (tmp_path / "twelve.mp3").read_bytes())}}, 400, "takes at most 10 s"),
        "too short": ({"files": {"file": ("a.wav", _wav(np.zeros(800)))}}, 400, "less than 100 ms"),
        "unknown format": ({"files": {"file": ("a.mp3", mp3)}, "data": {"response_format": "xml"}}, 400, "unknown response_format 'xml'"),
        "bad temperature": ({"files": {"file": ("a.mp3", mp3)}, "data": {"temperature": "hot"}}, 400, "temperature"),
        "bad language": ({"files": {"file": ("a.mp3", mp3)}, "data": {"language": "../../etc"}}, 400, "language code"),
        "unknown language": ({"files": {"file": ("a.mp3", mp3)}, "data": {"language": "xx"}}, 400, "language 'xx' names no known language ('xx'); give an ISO 639-1 code"),
        "unknown language, region": ({"files": {"file": ("a.mp3", mp3)}, "data": {"language": "zz-notalang"}}, 400, "language 'zz-notalang' names no known language ('zz')"),
        # libsndfile reads a WAV cut short without a word: its RIFF header still says 1.89 s
        "wav cut to a third": ({"files": {"file": ("a.wav", wav[: len(wav) // 3])}}, 400, "cannot use the file 'a.wav': it is truncated or damaged: its header says 1.89 s, but only 0.63 s"),
        "json body": ({"json": {"file": "a.mp3"}}, 400, "no file"),
    }  # fmt: skip
    for name, (request, status, message) in cases.items():
        response = http.post(endpoint, timeout=60, **request)
        assert response.status_code == status, (name, response.text)
        assert message in response.json()["error"]["message"], (name, response.text)

    translations = url + "/v1/audio/translations"
    unknown_target = http.post(translations, files={"file": ("a.wav", wav)}, data={"to": "xx"})
    assert unknown_target.status_code == 400, unknown_target.text
    assert "to 'xx' names no known language" in unknown_target.json()["error"]["message"]
    known = http.post(endpoint, files={"file": ("a.wav", wav)}, data={"language": "es-ES"})
    assert known.status_code == 200, known.text  # a region after a known language is fine

    # a body without Content-Length is counted as it streams in
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
    chunks = iter([head, *[b"x" * 50_000] * 10, b"\r\n--b--\r\n"])
    headers = {"content-type": "multipart/form-data; boundary=b"}
    response = http.post(endpoint, content=chunks, headers=headers, timeout=60)
    assert response.status_code == 413 and "over this server's limit" in response.text
    # the openai client reports the same errors
    with pytest.raises(openai.BadRequestError, match="truncated"):
        client.audio.transcriptions.create(file=("cut.mp3", mp3[:3000]), model="x")
    with pytest.raises(openai.APIStatusError, match="at most 0.19 MiB") as error:
        client.audio.transcriptions.create(file=audio["long.wav"], model="x")
    assert error.value.status_code == 413
    assert http.get(url + "/nowhere").status_code == 404
    # still serving
    assert client.audio.transcriptions.create(file=audio["short.mp3"], model="x").text


def test_api_key(stt, audio):
    app = create_app(stt, ServerOptions(api_key="s3cret"))
    with serve_in_background(app) as url:
        endpoint = url + "/v1/audio/transcriptions"
        files = {"file": ("a.mp3", audio["short.mp3"].read_bytes())}
        missing = http.post(endpoint, files=files)
        assert missing.status_code == 401 and "missing API key" in missing.text
        wrong = openai.OpenAI(api_key="guess", base_url=url + "/v1", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="incorrect API key"):
            wrong.audio.transcriptions.create(file=audio["short.mp3"], model="x")
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        right = openai.OpenAI(api_key="s3cret", base_url=url + "/v1", max_retries=0)
        assert right.audio.transcriptions.create(file=audio["short.mp3"], model="x").text
        assert http.get(url + "/health").status_code == 200  # open: for load balancers
        assert http.get(url + "/").status_code == 200


def _wav(samples) -> bytes:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", "16000", "-ac", "1", "-i", "-", "-f", "wav", "-"],
        input=np.asarray(samples, dtype="<f4").tobytes(), capture_output=True, check=True,
    )  # fmt: skip
    return out.stdout
