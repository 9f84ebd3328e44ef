// Clip page: follow the clip until it is classified (saying so when it takes longer than usual),
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
  const clock = (seconds) => {
    seconds = Math.round(seconds);
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  };
  const wave = article.querySelector("[data-wave]");
  const playhead = article.querySelector("[data-playhead]");
  if (wave && playhead && player) {
    player.addEventListener("timeupdate", () => {
      if (!player.duration) return;
      playhead.hidden = false;
      playhead.style.left = (100 * player.currentTime / player.duration) + "%";
    });
  }
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
  // A long clip's detail view: a window of 10 min, 1 min or 10 s of the timeline, moved with the
  // slider, by clicking the overview, and following the player; click a segment to play it.
  const zoom = article.querySelector("[data-zoom]");
  if (zoom) {
    const data = JSON.parse(document.getElementById("timeline-data").textContent);
    const duration = parseFloat(zoom.dataset.duration);
    const strip = zoom.querySelector("[data-zoom-timeline]");
    const ticks = zoom.querySelector("[data-zoom-ticks]");
    const slider = zoom.querySelector("[data-zoom-position]");
    const label = zoom.querySelector("[data-zoom-range]");
    let span = Math.min(600, duration), from = 0;
    const lower = (list, t) => {  // first segment ending after t
      let lo = 0, hi = list.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid][1] <= t) lo = mid + 1; else hi = mid; }
      return lo;
    };
    const draw = () => {
      from = Math.max(0, Math.min(from, duration - span));
      const to = from + span;
      strip.textContent = "";
      for (let i = lower(data, from); i < data.length && data[i][0] < to; i++) {
        const [start, end, kind, unsure] = data[i];
        const bar = document.createElement("button");
        bar.type = "button";
        const left = Math.max(start, from), right = Math.min(end, to);
        bar.className = "seg " + kind + ((right - left) / span < 0.06 ? " narrow" : "");
        bar.style.left = (100 * (left - from) / span) + "%";
        bar.style.width = (100 * (right - left) / span) + "%";
        bar.textContent = kind + (unsure ? "?" : "");
        bar.title = clock(start) + "–" + clock(end) + ": " + kind + (unsure ? " (unsure)" : "") + " (click to play from here)";
        bar.dataset.zoomStart = start;
        bar.addEventListener("click", () => { player.currentTime = start; player.play().catch(() => {}); });
        strip.append(bar);
      }
      ticks.textContent = "";
      for (let k = 0; k <= 4; k++) {
        const tick = document.createElement("span");
        tick.style.left = (25 * k) + "%";
        tick.textContent = clock(from + (span * k) / 4);
        ticks.append(tick);
      }
      label.textContent = clock(from) + "–" + clock(to);
      slider.value = duration > span ? Math.round((1000 * from) / (duration - span)) : 0;
    };
    zoom.querySelectorAll("[data-span]").forEach((button) => button.addEventListener("click", () => {
      const centre = from + span / 2;
      span = Math.min(parseFloat(button.dataset.span), duration);
      from = centre - span / 2;
      draw();
    }));
    slider.addEventListener("input", () => { from = (slider.value / 1000) * (duration - span); draw(); });
    article.querySelector("[data-timeline]").addEventListener("click", (event) => {
      const box = event.currentTarget.getBoundingClientRect();
      from = ((event.clientX - box.left) / box.width) * duration - span / 2;
      draw();
    });
    player.addEventListener("timeupdate", () => {
      if (player.currentTime < from || player.currentTime > from + span) { from = player.currentTime - span / 10; draw(); }
    });
    draw();
  }
  const finished = ["done", "failed"];
  if (finished.includes(article.dataset.statusValue) || !window.ClipEvents) return;
  // Pushed as it changes (static/js/clip-events.js), polled where the stream cannot be held.
  const watcher = window.ClipEvents.watch(article.dataset.events, () => article.dataset.api);
  watcher.follow(article.dataset.clipId, (clip) => {
    const badge = article.querySelector("[data-status]");
    badge.textContent = clip.status.charAt(0).toUpperCase() + clip.status.slice(1);
    badge.className = "status " + clip.status;
    if (finished.includes(clip.status)) { window.location.reload(); return true; }
    showProgress(clip.progress);
    const slow = article.querySelector("[data-slow]");
    if (slow) slow.hidden = !clip.late;  // the server's rule (classify/clips/summary.py: is_late)
    return false;
  });
})();
