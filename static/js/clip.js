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
  const finished = ["done", "failed"];
  if (finished.includes(article.dataset.statusValue)) return;
  const started = Date.now();
  const SLOW_MS = 20000;  // a clip of a few minutes is done well within this on an idle server
  let wait = 700;
  const poll = async () => {
    try {
      const response = await fetch(article.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const clip = await response.json();
        const badge = article.querySelector("[data-status]");
        badge.textContent = clip.status.charAt(0).toUpperCase() + clip.status.slice(1);
        badge.className = "status " + clip.status;
        if (finished.includes(clip.status)) { window.location.reload(); return; }
      }
    } catch (error) { /* the server may be restarting; try again */ }
    const slow = article.querySelector("[data-slow]");
    if (slow && Date.now() - started > SLOW_MS) slow.hidden = false;
    wait = Math.min(wait * 1.3, 5000);  // back off: a long wait need not cost a request a second
    setTimeout(poll, wait);
  };
  setTimeout(poll, wait);
})();
