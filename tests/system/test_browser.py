"""End to end in headless Chromium (Debian's, driven by Playwright) against a live server and a
real django-q2 worker. Screenshots land in tests/artifacts/ for reviewers."""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from classify.clips import summary
from classify.models import Clip, Correction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture
def browser_factory():
    """Launch Chromium with extra flags; Playwright's sync loop means Django's ORM must be told
    that calls from this thread are fine."""
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (make test does)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    manager = playwright_sync.sync_playwright().start()
    browsers = []

    def launch(*flags: str):
        browser = manager.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*QUIET_FLAGS, *flags]
        )
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()
    manager.stop()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def real_mix(path: Path) -> bytes:
    """Music, then speech, then noise: the committed real fixtures back to back."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    parts = [
        soundfile.read(fixtures / name, dtype="float32")[0]
        for name in ("music.flac", "speech.flac", "noise-rain.flac")
    ]
    soundfile.write(path, np.concatenate(parts), 16_000)
    return path.read_bytes()


def sign_up(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", "browser-Long-passw0rd")
    page.fill("#id_password2", "browser-Long-passw0rd")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/clips/upload/")


def sign_in_to_admin(page, base_url: str, admin_user) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")


def drop_file(page, selector: str, name: str, content: bytes, mime: str) -> None:
    """Drag and drop as a person would: a DataTransfer holding the file, dropped on the zone."""
    transfer = page.evaluate_handle(
        """([name, data, mime]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            return transfer;
        }""",
        [name, base64.b64encode(content).decode(), mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_a_new_user_uploads_by_drag_and_drop_and_works_with_the_result(
    browser_factory, live_server, qcluster, tmp_path
):
    page = browser_factory().new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    sign_up(page, live_server.url, "erin")

    audio = real_mix(tmp_path / "concert.flac")
    drop_file(page, "[data-dropzone]", "concert.flac", audio, "audio/flac")
    item = page.locator("[data-upload-list] li").first
    item.locator("progress").wait_for()
    page.wait_for_selector("[data-upload-list] li[data-status=done]", timeout=60_000)
    assert "open" in item.inner_text()
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)

    item.locator("a", has_text="open").click()
    page.wait_for_selector("[data-timeline] .seg")
    clip = Clip.objects.get(original_filename="concert.flac")
    # Music, speech, then rain: answered with its time shares, not one confident label.
    assert clip.result.mixed, clip.result.shares
    headline = page.locator("[data-answer][data-mixed]").inner_text()
    assert all(f"{name} " in headline for name in clip.result.shares if name in ("music", "speech"))
    assert page.locator("[data-time-bars] .bar").count() >= 3
    assert page.locator("[data-wave] svg path").count() == 1
    segment = page.locator("[data-timeline] .seg").first
    segment.click()  # plays from there
    page.wait_for_function("!document.querySelector('[data-player]').paused")
    page.wait_for_selector("[data-playhead]:not([hidden])")
    page.screenshot(path=str(ARTIFACTS / "result-mixed.png"), full_page=True)

    page.select_option("[data-correct-clip] select", "music")
    page.click("[data-correct-clip] button")
    page.wait_for_selector("[data-corrected]")
    assert "corrected by you; the model said" in page.locator("[data-answer]").inner_text()
    assert page.locator("[data-answer] [data-label]").inner_text() == "music"
    assert Correction.objects.get().new_label == "music"
    page.screenshot(path=str(ARTIFACTS / "result-corrected.png"), full_page=True)

    page.goto(f"{live_server.url}/")
    page.wait_for_selector("table.clips")
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "history-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    with page.expect_download() as download:
        page.click("[data-export-csv]")
    assert "concert.flac" in Path(download.value.path()).read_text()

    page.set_viewport_size({"width": 1280, "height": 900})  # a laptop: the export buttons on one line
    boxes = [page.locator(sel).bounding_box() for sel in ("[data-export-csv]", "text=Export JSON")]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2
    page.set_viewport_size({"width": 390, "height": 844})  # the clip page on a phone fits too
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    header, body = (
        page.locator("header.bar").bounding_box(),
        page.evaluate("document.documentElement.scrollWidth"),
    )
    assert header["width"] >= body - 1  # the header bar spans the page
    page.screenshot(path=str(ARTIFACTS / "result-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-delete] button")
    page.wait_for_url(f"{live_server.url}/")
    assert "No clips yet" in page.content()
    assert not Clip.objects.exists()


def test_the_record_button_uploads_a_recording_that_gets_classified(browser_factory, live_server, qcluster):
    browser = browser_factory("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
    context = browser.new_context()
    context.grant_permissions(["microphone"], origin=live_server.url)
    page = context.new_page()
    sign_up(page, live_server.url, "frank")
    page.click("[data-record]")
    page.wait_for_function("document.querySelector('[data-elapsed]').textContent === '0:02'")
    page.click("[data-record]")
    page.wait_for_selector("[data-upload-list] li[data-status=done]", timeout=60_000)
    clip = Clip.objects.get()
    assert clip.original_filename.startswith("recording-") and clip.original_filename.endswith(".webm")
    assert clip.status == "done" and clip.duration_s >= 1.5
    page.screenshot(path=str(ARTIFACTS / "record.png"), full_page=True)


def test_the_clip_page_updates_itself_when_the_worker_finishes(
    browser_factory, live_server, qcluster, tmp_path
):
    from django.contrib.auth.models import User
    from django.core.files.base import ContentFile

    from classify.clips import state

    page = browser_factory().new_page()
    sign_up(page, live_server.url, "grace")
    # A clip stored but not yet queued, so the page is certainly open before the worker runs.
    clip = Clip(
        owner=User.objects.get(username="grace"), original_filename="later.flac", size_bytes=1, sha256="0"
    )
    clip.file.save("later.flac", ContentFile(real_mix(tmp_path / "later.flac")))
    asked = []  # what the page asks the server about the clip after loading: no polling
    page.on("request", lambda request: asked.append(request.url.removeprefix(live_server.url)))
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    page.wait_for_selector("[data-waiting]")
    state.requeue(clip.pk)
    page.wait_for_selector("[data-answer], [data-unsure]", timeout=120_000)  # we never reloaded: the page did
    assert page.locator("[data-timeline] .seg").count() >= 2
    opened = asked.index(f"/clips/{clip.pk}/")  # (the sign-up's page may have asked before)
    before_reload = asked[opened + 1 : asked.index(f"/clips/{clip.pk}/", opened + 1)]
    assert before_reload.count(f"/api/clips/events/?clip={clip.pk}") == 1, before_reload
    assert before_reload.count(f"/api/clips/{clip.pk}/") <= 1, before_reload  # its state once, as it opens


def test_pages_poll_instead_where_a_proxy_buffers_the_event_stream(
    browser_factory, live_server, qcluster, start_process, tmp_path
):
    """A proxy that holds the stream back (nginx told to buffer it): no `ready` arrives, so the
    upload page polls, and the user sees the same answer."""
    from classifier_site import proxy
    from tests.conftest import free_port
    from tests.system.conftest import wait_until_healthy

    listen = free_port()
    config = proxy.write_config(tmp_path / "nginx", live_server.url, live_server.url, f"127.0.0.1:{listen}")
    buffering = config.read_text().replace(
        "proxy_buffering off;", "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;"
    )
    assert buffering.count("proxy_ignore_headers X-Accel-Buffering;") == 1
    config.write_text(buffering)
    start_process("nginx", proxy.command(config), dict(os.environ))
    base = f"http://127.0.0.1:{listen}"
    wait_until_healthy(base, 30, "nginx")

    page = browser_factory().new_page()
    polled = []
    page.on("request", lambda request: polled.append(request.url) if "/api/clips/" in request.url else None)
    sign_up(page, base, "hedy")
    drop_file(page, "[data-dropzone]", "mix.flac", real_mix(tmp_path / "mix.flac"), "audio/flac")
    page.wait_for_selector("[data-upload-list] li .chip", timeout=120_000)
    clip_gets = [url for url in polled if url.rstrip("/").split("/")[-1].isdigit() and "events" not in url]
    assert len(clip_gets) >= 2, polled  # followed by polling: the stream never said `ready`


def test_speech_over_music_is_drawn_as_two_lanes_and_no_music_is_one_click(
    browser_factory, live_server, qcluster, tmp_path
):
    """A podcast (real speech, real music 8 dB under it) through the real worker: the page says
    so, draws a speech lane and a music lane under the timeline, and "There is no music here"
    empties the music lane."""
    from django.contrib.auth.models import User

    from classify.clips import intake
    from tests.django_layer import as_upload

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    speech, rate = soundfile.read(fixtures / "speech.flac", dtype="float32")
    music, _ = soundfile.read(fixtures / "music.flac", dtype="float32")
    speech, music = np.resize(speech, rate * 16), np.resize(music, rate * 16)  # looped to 16 s
    music *= np.sqrt(np.mean(speech**2)) * 10 ** (-8 / 20) / np.sqrt(np.mean(music**2))
    path = tmp_path / "podcast.flac"
    soundfile.write(path, 0.8 * (speech + music) / np.abs(speech + music).max(), rate)
    page = browser_factory().new_page(viewport={"width": 1100, "height": 900})
    sign_up(page, live_server.url, "paula")
    clip = intake.create_clip(User.objects.get(username="paula"), as_upload(path))
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    page.wait_for_selector("[data-music-under]", timeout=120_000)  # the page reloads itself when done
    assert page.locator("[data-music-under]").inner_text().startswith("Speech with music under it · music")
    for lane in ("speech", "music"):
        track = page.locator(f"[data-lane={lane}] [data-track]").first
        box = track.bounding_box()
        assert box is not None and box["width"] > 100, (lane, box)  # drawn, not just in the markup
    page.screenshot(path=str(ARTIFACTS / "lanes.png"), full_page=True)
    page.click("[data-no-music] button")
    page.wait_for_selector("[data-lane=speech] [data-track]")
    assert page.locator("[data-lane=music] [data-track]").count() == 0
    assert page.locator("[data-music-under]").count() == 0


def test_the_history_fits_a_phone_with_mixed_corrected_and_long_named_clips(
    browser_factory, live_server, tmp_path
):
    """Issue 27: on a phone the history table was 422 px wide in a 390 px window."""
    from django.contrib.auth.models import User

    from classify.clips import corrections, intake
    from tests.django_layer import as_upload, process_clip

    page = browser_factory().new_page(viewport={"width": 390, "height": 844})
    sign_up(page, live_server.url, "ursula")
    owner = User.objects.get(username="ursula")
    names = ["VID20261130T1234567890123456789012345.flac", "mix.flac", "b.flac"]  # no break in the name
    for name in names:
        path = tmp_path / name
        path.write_bytes(real_mix(path))
        clip = intake.create_clip(owner, as_upload(path))
        process_clip(clip.pk)
    corrections.correct(Clip.objects.with_result().get(original_filename="b.flac"), owner, "noise")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("table.clips")
    assert page.locator("[data-mixed]").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "history-phone-mixed.png"), full_page=True)
    # On a desktop, under the Mixed filter: the mixed clips, each filed under its largest share.
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server.url}/?mixed=true")
    page.wait_for_selector("table.clips")
    rows = page.locator("table.clips tbody tr")
    assert rows.count() == 2 and rows.filter(has=page.locator("[data-mixed]")).count() == 2
    page.screenshot(path=str(ARTIFACTS / "history-mixed.png"), full_page=True)  # the README's


def test_a_waiting_clip_is_called_late_and_a_long_one_at_work_is_not(
    browser_factory, live_server, settings, tmp_path
):
    """The page follows the server's rule (`late`): a clip nobody took for a minute is "taking
    longer than usual"; once a worker reports progress on it, the page shows the progress and
    stops calling it late (issue 27: a 3-hour file read as trouble after 20 s)."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.utils import timezone

    from classify.clips import intake
    from tests.django_layer import as_upload

    settings.CLASSIFY_SYNC = False  # no worker here: the clip stays where the test puts it
    page = browser_factory().new_page()
    sign_up(page, live_server.url, "tina")
    path = tmp_path / "long.flac"
    path.write_bytes(real_mix(path))
    clip = intake.create_clip(User.objects.get(username="tina"), as_upload(path))
    minute_ago = timezone.now() - timedelta(seconds=60)
    Clip.objects.filter(pk=clip.pk).update(queued_at=minute_ago)
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    page.wait_for_selector("[data-slow]:not([hidden])", timeout=10_000)
    progress = {"done_s": 600, "total_s": 10800, "rate": 600, "left_s": 17, "segments": [], "at": None}
    Clip.objects.filter(pk=clip.pk).update(status="processing", started_at=minute_ago, progress=progress)
    page.wait_for_selector("[data-progress]:not([hidden])", timeout=10_000)
    page.wait_for_selector("[data-slow]", state="hidden", timeout=10_000)


def test_a_polyglot_upload_named_html_never_runs_its_script_on_the_site(
    browser_factory, live_server, tmp_path
):
    from django.contrib.auth.models import User

    from classify.clips import intake
    from tests.django_layer import as_upload
    from tests.platform.test_audio_serving import polyglot_wav

    page = browser_factory().new_page()
    # The file really is a working script when a browser takes it for HTML...
    page.set_content(polyglot_wav().decode("latin-1"))
    assert page.evaluate("window.pwned") == 1
    # ...but uploaded as "poly.html" and opened from the site, it is audio and nothing runs.
    sign_up(page, live_server.url, "mallory")
    path = tmp_path / "poly.html"
    path.write_bytes(polyglot_wav())
    clip = intake.create_clip(User.objects.get(username="mallory"), as_upload(path, content_type="text/html"))
    response = page.goto(f"{live_server.url}/clips/{clip.pk}/audio/")
    assert response.headers["content-type"] == "audio/wav"
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None and page.title() != "pwned"


def test_live_mode_follows_speech_then_music_and_keeps_the_recording(
    browser_factory, live_server, qcluster, tmp_path
):
    """A fake microphone plays speech, then music (Chromium loops the file): the live label goes
    from speech to music, and Stop turns the recording into a classified clip."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    speech, rate = soundfile.read(fixtures / "speech.flac", dtype="float32")
    music, _ = soundfile.read(fixtures / "music.flac", dtype="float32")
    microphone = tmp_path / "microphone.wav"
    soundfile.write(
        microphone, np.concatenate([speech, speech, speech, music, music, music]), rate, subtype="PCM_16"
    )
    browser = browser_factory(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
    )
    context = browser.new_context()
    context.grant_permissions(["microphone"], origin=live_server.url)
    page = context.new_page()
    sign_up(page, live_server.url, "lena")
    page.click("[data-listen]")
    # Each wait ends as soon as the label changes; the limits only bound a machine that is stuck.
    page.wait_for_function(
        "document.querySelector('[data-live-label]').textContent === 'speech'", timeout=120_000
    )
    page.wait_for_function(
        "document.querySelector('[data-live-label]').textContent === 'music'", timeout=120_000
    )
    assert page.locator("[data-live-timeline] .seg.speech").count() >= 1
    page.wait_for_selector("[data-live-lane=speech] [data-track]", timeout=30_000)  # the lanes as they come
    page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
    page.click("[data-listen]")
    page.wait_for_selector("[data-live-clip]", timeout=30_000)
    assert page.locator("[data-live-label]").inner_text() == "–"  # "Now:" no longer says music
    clip = Clip.objects.get(owner__username="lena")
    assert clip.original_filename.startswith("live-") and clip.duration_s >= 8
    # The kept clip's answer appears beside its link once the worker has classified it.
    page.wait_for_function(
        "!document.querySelector('[data-live-answer]').textContent.includes('classifying')", timeout=120_000
    )
    clip.refresh_from_db()
    said = page.locator("[data-live-answer]").inner_text()
    assert clip.status == "done" and said.strip(" ·").startswith(summary.stored(clip.result).headline()), said
    page.click("[data-live-clip]")
    # Classified in full, on its own page: speech then music is answered as a mixed clip.
    page.wait_for_selector("[data-answer], [data-unsure]", timeout=120_000)
    page.goto(f"{live_server.url}/")
    assert clip.original_filename in page.locator("table.clips").inner_text()  # and in the history


def test_staff_compare_a_trained_candidate_with_the_active_model_in_admin(
    browser_factory, live_server, settings, tiny_corpus, tmp_path, django_user_model, admin_user
):
    """A real (tiny) training run with users' corrections, then the admin pages it feeds: the
    list with the candidate's figures, the side-by-side comparison with players, the promote
    page. The comparison screenshot is the README's."""
    from classify.model_versions import registry, training
    from classify.models import ModelVersion
    from tests.system.test_model_loop import corrected_clips

    registry.register_shipped()
    corrected_clips(django_user_model, tmp_path, users=4)
    settings.TRAINING_CORPUS_DIR, settings.TRAINING_PRESET, settings.TRAINING_EPOCHS = tiny_corpus, "seed", 3
    run = training.queue_training(admin_user, with_corrections=True, enqueue=False)
    training.run_training(run.pk)
    candidate = ModelVersion.objects.get(pk=run.pk)
    assert candidate.status == "candidate", candidate.error

    page = browser_factory().new_page(viewport={"width": 1280, "height": 900})
    sign_in_to_admin(page, live_server.url, admin_user)
    page.goto(f"{live_server.url}/admin/classify/modelversion/")
    assert "Candidate" in page.locator("#result_list").inner_text()
    link = page.locator("#result_list a:text-is('compare')").bounding_box()
    table = page.locator("#changelist-form .results").bounding_box()
    assert link["x"] + link["width"] <= table["x"] + table["width"]  # on screen at 1280 px (issue 27)
    page.screenshot(path=str(ARTIFACTS / "admin-model-versions.png"), full_page=True)
    page.click("text=compare")
    page.wait_for_selector("table.side-by-side")
    text = page.locator("#content").inner_text()
    assert "macro-F1" in text and "noise recall" in text and candidate.version in text
    assert "Corrections of users held out of training" in text
    page.screenshot(path=str(ARTIFACTS / "admin-compare.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/classify/modelversion/{candidate.pk}/promote/")
    page.click("#promote")
    if registry.worse_than_active(candidate):  # asked to confirm first
        page.check("#id_confirm_worse")
        page.click("#promote")
    page.wait_for_url(f"{live_server.url}/admin/classify/modelversion/")
    assert ModelVersion.objects.get(status="active") == candidate


def test_staff_follow_a_training_run_in_admin_in_words(
    browser_factory, live_server, settings, start_process, tiny_corpus, admin_user
):
    """A real training run on the training queue's own worker: admin's list says its stage,
    epoch k/N, percent and time left while it runs. The screenshot is the README's."""
    import sys

    from classify.models import ModelVersion
    from tests.conftest import ROOT
    from tests.system.conftest import wait_until, worker_env

    settings.CLASSIFY_SYNC, settings.TRAINING_CORPUS_DIR, settings.TRAINING_EPOCHS = False, tiny_corpus, 400
    command = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
    env = worker_env(settings, Q_CLUSTER_NAME=settings.TRAINING_QUEUE, TRAINING_CORPUS_DIR=str(tiny_corpus))
    start_process("qcluster-training", command, env)
    page = browser_factory().new_page(viewport={"width": 1280, "height": 800})
    sign_in_to_admin(page, live_server.url, admin_user)
    page.goto(f"{live_server.url}/admin/classify/modelversion/train/")
    assert "files in 12 sources" in page.locator("#content").inner_text()
    page.click("input[type=submit]")
    run = ModelVersion.objects.filter(status__in=["queued", "training"])
    wait_until(lambda: run.filter(progress__epoch__gte=3).exists(), 180, "a few epochs", every_s=0.5)
    page.goto(f"{live_server.url}/admin/classify/modelversion/")
    progress = page.locator("#result_list td.field-progress_text").first.inner_text()
    assert progress.startswith("training: epoch ") and "%" in progress and "left" in progress, progress
    column = page.locator("#result_list th.column-progress_text").bounding_box()
    assert column["x"] + column["width"] <= 1280  # the progress column is on screen at 1280 px
    page.screenshot(path=str(ARTIFACTS / "admin-training.png"), full_page=True)


def test_a_long_recording_shows_progress_then_an_overview_with_a_zoomable_detail(
    browser_factory, live_server, qcluster, tmp_path
):
    """An hour of real speech, music and rain (the fixtures in turn) through the real
    worker: the page follows its progress, then shows the whole timeline and a detail view that
    zooms to a minute, moves, and plays from a segment. The screenshot is the README's."""
    from django.contrib.auth.models import User

    from classify.clips import intake

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    parts = [
        soundfile.read(fixtures / name, dtype="float32")[0]
        for name in ("speech.flac", "music.flac", "noise-rain.flac")
    ]
    minute = np.concatenate([np.resize(part, 20 * 16_000) for part in parts])  # 20 s of each, repeated
    path = tmp_path / "lecture.flac"
    soundfile.write(path, np.tile(minute, 60), 16_000)  # an hour

    page = browser_factory().new_page(viewport={"width": 1280, "height": 900})
    sign_up(page, live_server.url, "lena")
    with path.open("rb") as handle:
        from django.core.files.uploadedfile import UploadedFile

        upload = UploadedFile(
            handle, name="lecture.flac", content_type="audio/flac", size=path.stat().st_size
        )
        upload.temporary_file_path = lambda: str(path)
        clip = intake.create_clip(User.objects.get(username="lena"), upload)
    page.goto(f"{live_server.url}/clips/{clip.pk}/")
    page.wait_for_selector("[data-progress]:not([hidden])", timeout=120_000)  # progress while it runs
    assert "classified" in page.locator("[data-progress-text]").inner_text()
    page.wait_for_selector("[data-zoom]", timeout=120_000)  # done: the page reloaded itself
    started = time.monotonic()
    page.reload()
    page.wait_for_selector("[data-zoom-timeline] .seg")
    print(
        f"result page of a {Clip.objects.get(pk=clip.pk).duration_s:.0f} s clip: {time.monotonic() - started:.2f} s to a drawn detail view"
    )
    assert page.locator("[data-timeline] .seg").count() >= 50  # the overview: every segment
    page.click("[data-span='60']")
    assert page.locator("[data-zoom-range]").inner_text().count(":") == 2
    assert 3 <= page.locator("[data-zoom-timeline] .seg").count() <= 8  # a minute: three or four runs
    page.fill("[data-zoom-position]", "500")
    page.dispatch_event("[data-zoom-position]", "input")
    clip.refresh_from_db()
    halfway_min = int((clip.duration_s - 60) / 2 // 60)
    assert page.locator("[data-zoom-range]").inner_text().startswith(f"{halfway_min}:")  # half-way through
    segment = page.locator("[data-zoom-timeline] .seg").nth(1)
    start = float(segment.get_attribute("data-zoom-start"))
    segment.click()
    page.wait_for_function("!document.querySelector('[data-player]').paused")
    assert abs(page.evaluate("document.querySelector('[data-player]').currentTime") - start) < 2
    assert page.locator("[data-segment-pages]").count() == 1  # the list is paged
    page.screenshot(path=str(ARTIFACTS / "long-recording.png"), full_page=False)


def part_request_ended() -> bool:
    """No part is streaming into the upload: its row's lock is free."""
    from django.db import OperationalError, transaction

    from classify.models import ResumableUpload

    try:
        with transaction.atomic():
            ResumableUpload.objects.select_for_update(nowait=True).get()
        return True
    except OperationalError:
        return False


def test_a_big_file_goes_up_in_parts_and_continues_after_the_tab_is_closed(
    browser_factory, live_server, qcluster, tmp_path
):
    """A 36 MB WAV chosen on the page goes up with tus in 16 MB parts over a slow line. The
    connection drops after the first part and the tab is closed; a new tab, the same file chosen
    again: the page asks where it stood and sends only the rest. The clip is the file."""
    import hashlib

    from classify.models import ResumableUpload
    from tests.system.conftest import wait_until

    speech = soundfile.read(
        Path(__file__).resolve().parents[1] / "fixtures" / "speech.flac", dtype="float32"
    )[0]
    stereo = np.repeat(np.resize(speech, 16_000 * 190), 3)  # 190 s at 48 kHz, stereo below: 36 MB
    path = tmp_path / "archive.wav"
    soundfile.write(path, np.stack([stereo, stereo], axis=1), 48_000, subtype="PCM_16")
    assert path.stat().st_size > 32 * 1024 * 1024  # the page's threshold for resumable parts

    context = browser_factory().new_context()  # one browser profile: its localStorage remembers the upload
    page = context.new_page()
    sign_up(page, live_server.url, "rita")
    cdp = context.new_cdp_session(page)  # a slow line (8 MB/s up): a part takes about 2 s
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 8 * 1024 * 1024},
    )
    page.set_input_files("[data-upload-form] input[type=file]", str(path))
    arrived = ResumableUpload.objects.filter(offset__gte=16 * 1024 * 1024)
    wait_until(arrived.exists, 60, "the first part to arrive", 0.02)
    context.set_offline(True)  # the connection drops during the second part
    page.close()  # and the tab is closed
    context.set_offline(False)
    # What arrived of the part that was cut is kept when its request ends (it holds the row's
    # lock until then): read where the upload stands after that, as the server answers HEAD.
    wait_until(part_request_ended, 30, "the cut part's request to end", 0.05)
    kept = ResumableUpload.objects.get().offset
    assert kept < path.stat().st_size

    page = context.new_page()
    page.on(
        "request", lambda sent: sent.method == "PATCH" and offsets.append(int(sent.headers["upload-offset"]))
    )
    offsets: list[int] = []
    page.goto(f"{live_server.url}/clips/upload/")
    page.set_input_files("[data-upload-form] input[type=file]", str(path))
    page.wait_for_selector("[data-upload-list] li[data-status=done]", timeout=120_000)
    # It asked where it stood and sent only the rest, each byte once.
    assert offsets and offsets[0] == kept and offsets == sorted(set(offsets)), (kept, offsets)
    clip = Clip.objects.get(original_filename="archive.wav")
    assert clip.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not ResumableUpload.objects.exists()


def test_without_javascript_the_upload_page_shows_no_dead_buttons(browser_factory, live_server):
    """The form posts on its own; the microphone and live controls need JavaScript, so they stay
    hidden (the stylesheet once overrode `hidden`)."""
    context = browser_factory().new_context(java_script_enabled=False)
    page = context.new_page()
    sign_up(page, live_server.url, "nojs")
    page.goto(f"{live_server.url}/clips/upload/")
    assert page.locator("[data-upload-submit]").is_visible()
    for control in ("[data-record]", "[data-listen]", "[data-microphone-heading]"):
        assert not page.locator(control).is_visible(), control
    assert page.evaluate(  # the upload list comes right under the form, before the microphone
        "document.querySelector('[data-upload-list]').compareDocumentPosition("
        "document.querySelector('[data-live]')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )


def test_the_upload_list_shows_a_long_recording_at_work_with_its_progress(
    browser_factory, live_server, settings, tmp_path
):
    """Issue 27: a long recording's row read "Taking longer than usual" while it was simply long.
    The row follows the clip over the page's event stream: classifying, how far, how long left.
    The screenshot is the README's."""
    from django.utils import timezone

    from tests.system.conftest import wait_until

    settings.CLASSIFY_SYNC = False  # no worker here: the test moves the clip as a worker would
    page = browser_factory().new_page(viewport={"width": 1280, "height": 720})
    sign_up(page, live_server.url, "vera")
    mix = soundfile.read(Path(__file__).resolve().parents[1] / "fixtures" / "music.flac", dtype="float32")[0]
    path = tmp_path / "lecture-12-minutes.flac"
    soundfile.write(path, np.resize(mix, 16_000 * 720), 16_000)
    drop_file(page, "[data-dropzone]", path.name, path.read_bytes(), "audio/flac")
    stored = Clip.objects.filter(original_filename=path.name)
    wait_until(stored.exists, 60, "the upload to be accepted", every_s=0.1)
    clip = stored.get()
    progress = {"done_s": 250.0, "total_s": 720.0, "rate": 120.0, "left_s": 4.0, "segments": [], "at": None}
    Clip.objects.filter(pk=clip.pk).update(status="processing", started_at=timezone.now(), progress=progress)
    row = page.locator("[data-upload-list] li").first
    page.wait_for_selector("[data-upload-list] li[data-status=processing]", timeout=10_000)
    assert "classifying: 4 min of 12 min, about 4.0 s left" in row.inner_text()
    assert "longer than usual" not in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "upload-long.png"), full_page=True)


def test_admin_says_in_a_sentence_why_a_training_run_failed(browser_factory, live_server, admin_user):
    """Issue 27: admin showed a traceback's fragment where the README promises a sentence. The
    screenshot is the README's."""
    from datetime import timedelta

    from django.utils import timezone

    from classify.model_versions import training
    from classify.models import ModelVersion

    error = training.child_failure(
        ["Traceback (most recent call last):", "    return os.stat(self, follow_symlinks=follow_symlinks)",
         "FileNotFoundError: [Errno 2] No such file or directory: '/corpus/noise/rain/a.ogg'"],
        1,
    )  # fmt: skip
    finished = timezone.now()
    ModelVersion.objects.create(
        version="training-20261207-1",
        status="failed",
        error=f"Training failed: {error}",
        started_at=finished - timedelta(minutes=25),
        finished_at=finished,
    )
    page = browser_factory().new_page(viewport={"width": 1280, "height": 720})
    sign_in_to_admin(page, live_server.url, admin_user)
    page.goto(f"{live_server.url}/admin/classify/modelversion/")
    said = page.locator("#result_list td.field-progress_text").first.inner_text()
    assert said.startswith("failed: Training failed: a file it needed went missing during the run")
    assert "os.stat" not in page.content() and "Traceback" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "admin-training-failed.png"), full_page=True)


def test_a_big_upload_refused_at_its_end_for_want_of_room_finishes_once_there_is_room(
    browser_factory, live_server, settings, tmp_path
):
    """Issue 27, item 8: a last part refused for the quota deleted every part already sent. The
    parts are kept; once there is room, choosing the same file again makes the clip without
    sending it again."""
    from classify.models import ResumableUpload
    from tests.system.conftest import wait_until

    settings.CLASSIFY_SYNC = False  # no worker: the clip's creation is what is looked at
    speech = soundfile.read(
        Path(__file__).resolve().parents[1] / "fixtures" / "speech.flac", dtype="float32"
    )[0]
    stereo = np.repeat(np.resize(speech, 16_000 * 190), 3)
    path = tmp_path / "archive.wav"
    soundfile.write(path, np.stack([stereo, stereo], axis=1), 48_000, subtype="PCM_16")  # 36 MB
    settings.USER_STORAGE_QUOTA_BYTES = 100 * 1024 * 1024

    context = browser_factory().new_context()
    page = context.new_page()
    sign_up(page, live_server.url, "wanda")
    cdp = context.new_cdp_session(page)  # a slow line, so the quota fills while the parts go up
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 8 * 1024 * 1024},
    )
    page.set_input_files("[data-upload-form] input[type=file]", str(path))
    wait_until(ResumableUpload.objects.exists, 30, "the upload to begin", 0.05)
    owner = ResumableUpload.objects.get().owner
    blocking = Clip.objects.create(
        owner=owner, original_filename="big.wav", size_bytes=80 * 1024 * 1024, sha256="0"
    )
    page.wait_for_selector("[data-upload-list] li[data-status=failed]", timeout=60_000)
    assert "Your file is kept" in page.locator("[data-upload-list] li").first.inner_text()
    upload = ResumableUpload.objects.get()
    assert upload.offset == upload.length == path.stat().st_size  # every byte kept

    blocking.delete()  # room again
    patches = []
    page.on(
        "request", lambda sent: sent.method == "PATCH" and patches.append(sent.headers.get("upload-offset"))
    )
    page.set_input_files("[data-upload-form] input[type=file]", str(path))
    made = Clip.objects.filter(owner=owner, original_filename="archive.wav")
    wait_until(made.exists, 60, "the clip to be made", 0.1)
    page.wait_for_selector("[data-upload-list] li:first-child[data-status=queued]", timeout=10_000)
    clip = made.get()
    assert clip.size_bytes == path.stat().st_size and not ResumableUpload.objects.exists()
    assert patches == [str(path.stat().st_size)]  # one empty last part, no byte sent again
