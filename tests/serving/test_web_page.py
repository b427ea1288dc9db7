"""The web page at ``/`` in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium): upload a clip, record one from a fake microphone, and
read the answers on the page."""

from __future__ import annotations

import base64
import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from unheard.serving.server import ServerOptions, create_app, serve_in_background

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser: install Debian's chromium and chromium-driver "
    "(`make setup` does as root: apt-get install -y chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def page(stt):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 # a fake microphone (a beeping tone) that needs no permission prompt
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):  # fmt: skip
        options.add_argument(flag)
    app = create_app(stt, ServerOptions(api_key="page-key"))
    with serve_in_background(app) as url:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.get(url + "/")
            yield driver
        finally:
            driver.quit()


# the page's recorded Blob as base64 (execute_async_script's last argument is its callback)
RECORDED_BYTES = """
const done = arguments[arguments.length - 1];
recorded.arrayBuffer().then((buffer) => {
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  done(btoa(text));
});
"""


def _send(driver) -> str:
    # click Send, wait for the status line to settle, return it
    driver.find_element(By.ID, "submit").click()
    status = driver.find_element(By.ID, "status")
    WebDriverWait(driver, 60).until(lambda d: status.text and status.text != "working…")
    return status.text


def test_upload_a_clip_and_read_the_answers(page, stt, audio):
    assert page.title == "unheard"
    page.find_element(By.ID, "key").send_keys("page-key")
    page.find_element(By.ID, "file").send_keys(str(audio["long.mp3"]))
    assert _send(page).startswith("done in")
    assert page.find_element(By.ID, "result").text == stt.transcribe(audio["long.mp3"]).text

    page.find_element(By.CSS_SELECTOR, "input[value=translations]").click()
    target = page.find_element(By.ID, "to")
    target.clear()
    target.send_keys("fr")
    Select(page.find_element(By.ID, "format")).select_by_visible_text("srt")
    assert _send(page).startswith("done in")
    expected = stt.translate(audio["long.mp3"], to="fr")
    assert page.find_element(By.ID, "result").text.startswith("1\n00:00:00,000 --> ")
    assert expected.segments[-1].text in page.find_element(By.ID, "result").text


def test_record_from_the_microphone_and_errors_on_the_page(page, stt, tmp_path):
    page.find_element(By.CSS_SELECTOR, "input[value=transcriptions]").click()
    Select(page.find_element(By.ID, "format")).select_by_visible_text("text")
    page.find_element(By.ID, "record").click()
    WebDriverWait(page, 10).until(lambda d: d.find_element(By.ID, "recording").text == "recording…")
    page.execute_script("return new Promise((done) => setTimeout(done, 1500))")  # 1.5 s of tone
    page.find_element(By.ID, "stop").click()
    WebDriverWait(page, 10).until(
        lambda d: d.find_element(By.ID, "recording").text.startswith("recorded")
    )
    # the WebM/Opus recording is decoded by the ffmpeg fallback
    assert _send(page).startswith("done in")
    # the page shows what the Python API writes for the very bytes the page recorded and sent
    recording = base64.b64decode(page.execute_async_script(RECORDED_BYTES))
    assert recording[:4] == b"\x1a\x45\xdf\xa3"  # an EBML (WebM) header: a real recording
    expected = stt.transcribe(recording).text
    assert expected and page.find_element(By.ID, "result").text == expected

    (tmp_path / "notes.wav").write_text("not audio")
    page.find_element(By.ID, "file").send_keys(str(tmp_path / "notes.wav"))
    assert _send(page).startswith("error 400: cannot use the file 'notes.wav'")
    page.find_element(By.ID, "key").clear()
    assert _send(page) == "error 401: missing API key: send 'Authorization: Bearer KEY'"
