// Clip page: refresh until the clip is classified (saying so when it takes longer than usual),
// seek the player from the timeline and the segment list, and show a playhead on the waveform.
(function () {
  const article = document.querySelector("[data-clip-detail]");
  if (!article) return;
  const player = article.querySelector("[data-player]");
  article.querySelectorAll("[data-start]").forEach((segment) => {
    segment.addEventListener("click", () => {
      player.currentTime = parseFloat(segment.dataset.start);
      player.play().catch(() => {});
    });
  });
  const wave = article.querySelector("[data-wave]");
  const playhead = article.querySelector("[data-playhead]");
  if (wave && playhead && player) {
    player.addEventListener("timeupdate", () => {
      if (!player.duration) return;
      playhead.hidden = false;
      playhead.style.left = (100 * player.currentTime / player.duration) + "%";
    });
  }
  const clock = (seconds) => {
    seconds = Math.round(seconds);
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  };
  const showProgress = (progress) => {
    const box = article.querySelector("[data-progress]");
    if (!box || !progress) return;
    box.hidden = false;
    const total = progress.total_s || progress.done_s;
    box.querySelector("[data-progress-bar]").value = total ? (100 * progress.done_s) / total : 0;
    box.querySelector("[data-progress-text]").textContent =
      clock(progress.done_s) + (progress.total_s ? " of " + clock(progress.total_s) : "") + " classified" +
      " (" + Math.round(progress.rate) + "× real time" +
      (progress.left_s != null ? ", about " + clock(progress.left_s) + " left" : "") + ")";
    const strip = box.querySelector("[data-partial-timeline]");
    strip.textContent = "";
    progress.segments.forEach((segment) => {
      const bar = document.createElement("span");
      bar.className = "seg " + segment.label + " narrow";
      bar.style.left = (100 * segment.start / total) + "%";
      bar.style.width = (100 * (segment.end - segment.start) / total) + "%";
      bar.title = clock(segment.start) + "–" + clock(segment.end) + ": " + segment.label;
      strip.append(bar);
    });
  };
  const finished = ["done", "failed"];
  if (finished.includes(article.dataset.statusValue)) return;
  const started = Date.now();
  const SLOW_MS = 20000;  // a clip of a few minutes is done well within this on an idle server
  let wait = 700;
  let moving = false;  // a worker reports progress: long, not late
  const poll = async () => {
    try {
      const response = await fetch(article.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const clip = await response.json();
        const badge = article.querySelector("[data-status]");
        badge.textContent = clip.status.charAt(0).toUpperCase() + clip.status.slice(1);
        badge.className = "status " + clip.status;
        if (finished.includes(clip.status)) { window.location.reload(); return; }
        showProgress(clip.progress);
        moving = moving || Boolean(clip.progress);
      }
    } catch (error) { /* the server may be restarting; try again */ }
    const slow = article.querySelector("[data-slow]");
    if (slow && !moving && Date.now() - started > SLOW_MS) slow.hidden = false;  // waiting, not working
    wait = Math.min(wait * 1.3, 3000);  // back off: a long wait need not cost a request a second
    setTimeout(poll, wait);
  };
  setTimeout(poll, wait);
})();
