// Clip page: refresh until the clip is classified, and seek the player from the timeline.
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
  const finished = ["done", "failed"];
  if (finished.includes(article.dataset.statusValue)) return;
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
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 700);
})();
