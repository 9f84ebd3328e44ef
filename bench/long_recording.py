"""Long recordings through the platform: a six-hour recording of real corpus audio, classified by
a real worker, beside short clips on the same worker.

    make bench-long        # about 10 minutes on 2 cores; BENCH_LONG_HOURS=2 for a shorter run

Builds the recording from ../shared/corpus (TRAINING_CORPUS_DIR): its files in a seeded random
order, as 16 kHz FLAC, written block by block. Starts gunicorn and one qcluster on a scratch
database, classifies three two-minute clips of the same audio (the worker's memory right after
them and their real-time factor are the baseline), then the long recording, through the same
intake (checks, storage, queue) as an upload. While it runs, reads the clip's progress every
0.5 s. Prints:
- the worker's peak memory above what it held right after the short clips (target: < 300 MB);
- the long recording's real-time factor beside the short clips' (target: within 15%);
- the longest gap between two progress updates (target: at most 5 s);
- its result page in headless Chromium: seconds to a drawn detail view (target: under 2 s), then
  zoomed to a minute, moved half-way and played from a segment.
Then a resumable upload of a 1 GB WAV (48 kHz stereo, from the same audio) through gunicorn's API:
half of the first part is sent before the connection is dropped; HEAD says what was kept, the rest
is sent from there. Prints what was kept, what was sent in all (target: nothing twice) and whether
the stored clip is byte-identical.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, running_stack, wait_for  # noqa: E402

HOURS = float(os.environ.get("BENCH_LONG_HOURS", "6"))
SHORT_S, SHORTS = 120.0, 3
RATE = 16_000
CORPUS = Path(os.environ.get("TRAINING_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
WORK = Path(os.environ.get("BENCH_LONG_DIR", ROOT / "var" / "bench-long"))


def corpus_audio(seconds: float, seed: int) -> np.ndarray:
    """`seconds` of the corpus's files back to back, in a seeded random order (reused as needed)."""
    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".flac", ".ogg", ".wav"))
    order = np.random.default_rng(seed).permutation(len(files))
    pieces, held, i = [], 0, 0
    while held < seconds * RATE:
        samples, rate = soundfile.read(files[order[i % len(files)]], dtype="float32", always_2d=True)
        i += 1
        if rate != RATE:
            continue
        mono = samples.mean(axis=1)
        pieces.append(mono)
        held += len(mono)
    return np.concatenate(pieces)[: int(seconds * RATE)]


def write_recording(path: Path, seconds: float) -> Path:
    """A FLAC of `seconds`, written an hour at a time (never whole in memory)."""
    if path.exists() and abs(soundfile.info(path).duration - seconds) < 1:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with soundfile.SoundFile(path, "w", RATE, 1, format="FLAC") as out:
        written, hour = 0.0, 0
        while written < seconds:
            part = min(3600.0, seconds - written)
            out.write(corpus_audio(part, seed=hour))
            written += part
            hour += 1
    return path


def write_gigabyte_wav(path: Path, size: int = 10**9) -> Path:
    """About `size` bytes of 48 kHz stereo 16-bit WAV of corpus audio (the 16 kHz samples tripled)."""
    seconds = (size - 44) / (48_000 * 2 * 2)
    if path.exists() and abs(soundfile.info(path).duration - seconds) < 1:
        return path
    with soundfile.SoundFile(path, "w", 48_000, 2, subtype="PCM_16", format="WAV") as out:
        written, hour = 0.0, 0
        while written < seconds:
            part = min(1800.0, seconds - written)
            mono = np.repeat(corpus_audio(part, seed=100 + hour), 3)
            out.write(np.stack([mono, mono], axis=1))
            written, hour = written + part, hour + 1
    return path


def send_then_drop(url: str, token: str, path: Path, stop_at: int) -> None:
    """A PATCH announcing the whole file, of which `stop_at` bytes are sent before the socket closes."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(url)
    head = (
        f"PATCH {address.path} HTTP/1.1\r\nHost: {address.hostname}\r\nAuthorization: Token {token}\r\n"
        "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {path.stat().st_size}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port)) as connection, path.open("rb") as source:
        connection.sendall(head)
        sent = 0
        while sent < stop_at:
            block = source.read(min(1 << 20, stop_at - sent))
            connection.sendall(block)
            sent += len(block)
        time.sleep(2)  # the bytes reach the server; then the client vanishes


def result_page(base: str, username: str, password: str, clip_id: int) -> None:
    """The long clip's result page in headless Chromium (Debian's): signed in, the time from
    navigation to a drawn detail view, then zoom to a minute, move half-way, play from a segment."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as manager:
        browser = manager.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        timings = []
        for _ in range(3):
            started = time.monotonic()
            page.goto(f"{base}/clips/{clip_id}/")
            page.wait_for_selector("[data-zoom-timeline] .seg")
            timings.append(time.monotonic() - started)
        overview = page.locator("[data-timeline] .seg").count()
        page.click("[data-span='60']")
        page.fill("[data-zoom-position]", "500")
        page.dispatch_event("[data-zoom-position]", "input")
        shown = page.locator("[data-zoom-range]").inner_text()
        segment = page.locator("[data-zoom-timeline] .seg").first
        start = float(segment.get_attribute("data-zoom-start"))
        segment.click()
        page.wait_for_function("!document.querySelector('[data-player]').paused", timeout=30_000)
        at = page.evaluate("document.querySelector('[data-player]').currentTime")
        browser.close()
    print(f"result page in headless Chromium: {', '.join(f'{t:.2f}' for t in timings)} s to a drawn detail view "
          f"(target < 2 s); overview of {overview} segments; zoomed to a minute at {shown}; "
          f"played from {start:.0f} s (player at {at:.0f} s)")  # fmt: skip


def resumable_upload(owner, base: str) -> None:
    import hashlib

    import requests
    from rest_framework.authtoken.models import Token

    from classify.models import Clip

    path = write_gigabyte_wav(WORK / "gigabyte.wav")
    size = path.stat().st_size
    token = Token.objects.create(user=owner).key
    auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    started = time.monotonic()
    created = requests.post(f"{base}/api/uploads/", headers={**auth, "Upload-Length": str(size)}, timeout=60)
    created.raise_for_status()
    location = created.headers["Location"]
    half = size // 2
    send_then_drop(location, token, path, half)
    offset = int(requests.head(location, headers=auth, timeout=60).headers["Upload-Offset"])
    with path.open("rb") as source:
        source.seek(offset)
        rest = requests.patch(
            location,
            data=source,
            headers={**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                     "Content-Length": str(size - offset)},
            timeout=600,
        )  # fmt: skip
    rest.raise_for_status()
    clip = Clip.objects.get(pk=int(rest.headers["Upload-Clip-Id"]))
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 24):
            digest.update(block)
    sent = half + (size - offset)
    print()
    print(f"resumable upload of {size / 1e9:.2f} GB, dropped after {half / 1e9:.2f} GB: the server kept {offset / 1e9:.3f} GB; "
          f"sent in all {sent / 1e9:.3f} GB ({sent - size} bytes twice); clip {clip.pk} byte-identical: "
          f"{clip.sha256 == digest.hexdigest()}; {time.monotonic() - started:.0f} s in all")  # fmt: skip


def mb(pid: int, field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1]) / 1024


def the_worker(cluster: psutil.Process) -> psutil.Process:
    """The cluster's process that loaded the model (the largest)."""
    return max(cluster.children(recursive=True), key=lambda p: p.memory_info().rss)


def classify(owner, path: Path):
    from django.core.files.uploadedfile import UploadedFile

    from classify.clips import intake
    from classify.models import Clip

    # As Django's own temporary uploads: the storage moves the file into place, so it gets a link
    # of its own (the recording stays for the next run).
    upload_path = path.with_name(f"upload-{time.monotonic_ns()}{path.suffix}")
    os.link(path, upload_path)
    handle = upload_path.open("rb")
    upload = UploadedFile(handle, name=path.name, content_type="audio/flac", size=path.stat().st_size)
    upload.temporary_file_path = lambda: str(upload_path)
    started = time.monotonic()
    clip = intake.create_clip(owner, upload)
    handle.close()
    upload_path.unlink(missing_ok=True)
    accepted_s = time.monotonic() - started
    return Clip.objects.filter(pk=clip.pk), accepted_s


def main() -> int:
    long_path = write_recording(WORK / f"long-{HOURS:g}h.flac", HOURS * 3600)
    short_path = write_recording(WORK / "short.flac", SHORT_S)
    print(
        f"recording: {long_path.relative_to(ROOT) if long_path.is_relative_to(ROOT) else long_path} ({HOURS:g} h, {long_path.stat().st_size / 1e6:.0f} MB FLAC)",
        flush=True,
    )
    extra = {
        "UPLOAD_MAX_DURATION_S": str(int(HOURS * 3600) + 60),
        "USER_STORAGE_QUOTA_BYTES": "0",
        "GUNICORN_CMD_ARGS": "--timeout 300",  # the last part of a 1 GB upload is checked in its request
        # The bench measures one worker's memory across short clips and the long recording: keep
        # them on one queue (in production long ones have a worker of their own, LONG_CLIP_S).
        "LONG_CLIP_S": str(10**7),
    }
    with running_stack("long", extra_env=extra) as stack:
        from django.contrib.auth import get_user_model

        password = "long-bench-Passw0rd"
        owner = get_user_model().objects.create_user("long-bench", password=password)
        cluster = psutil.Process(stack.clusters[0].pid)
        short_rates = []
        for _ in range(SHORTS):
            clip, _ = classify(owner, short_path)
            wait_for(lambda: clip.filter(status__in=["done", "failed"]).exists(), 300, "a short clip")  # noqa: B023
            done = clip.select_related("result").get()
            short_rates.append(done.duration_s / done.result.processing_s)
        worker = the_worker(cluster)
        baseline_mb = mb(worker.pid, "VmRSS")
        print(f"short clips ({SHORT_S:.0f} s): {', '.join(f'{r:.0f}x' for r in short_rates)} real time; "
              f"worker {worker.pid} holds {baseline_mb:.0f} MB after them", flush=True)  # fmt: skip

        clip, accepted_s = classify(owner, long_path)
        print(f"long recording accepted (checked, stored, queued) in {accepted_s:.0f} s", flush=True)
        updates, last_at, seen_at, gaps = 0, None, 0.0, []
        while not clip.filter(status__in=["done", "failed"]).exists():
            progress = clip.values_list("progress", flat=True).get() or {}
            if progress.get("at") and progress["at"] != last_at:
                now = time.monotonic()
                if last_at is not None:
                    gaps.append(now - seen_at)
                last_at, seen_at, updates = progress["at"], now, updates + 1
                if updates % 20 == 1:
                    print(f"  progress: {progress['done_s'] / 3600:.2f} h of {HOURS:g} h, {progress['rate']:.0f}x, "
                          f"{len(progress['segments'])} segments so far", flush=True)  # fmt: skip
            time.sleep(0.5)
        done = clip.select_related("result").get()
        if done.status != "done":
            print(f"the long recording failed: {done.error}")
            return 1
        peak_mb = mb(worker.pid, "VmHWM")
        long_rate = done.duration_s / done.result.processing_s
        short_rate = statistics.median(short_rates)
        print()
        print(f"long recording: {done.duration_s / 3600:.2f} h in {done.result.processing_s:.0f} s of work, "
              f"{done.result.segments.count()} segments")  # fmt: skip
        print(f"worker peak above its memory after the short clips: {peak_mb - baseline_mb:.0f} MB "
              f"(peak {peak_mb:.0f} MB, after short clips {baseline_mb:.0f} MB; target < 300 MB)")  # fmt: skip
        print(f"real-time factor: long {long_rate:.0f}x, short clips {short_rate:.0f}x "
              f"(long/short {long_rate / short_rate:.2f}; target within 15%)")  # fmt: skip
        print(f"progress updates: {updates}, longest gap {max(gaps, default=0):.1f} s "
              f"(median {statistics.median(gaps) if gaps else 0:.1f} s; target at most 5 s)")  # fmt: skip
        result_page(stack.base, owner.username, password, done.pk)
        resumable_upload(owner, stack.base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
