// Follow clips as they change, over one event stream per page (GET /api/clips/events/, each event
// the clip's JSON as the API gives it). Where the stream cannot be opened (refused, no
// EventSource) or never says `ready` (a proxy that buffers it), each followed clip is polled
// instead, backing off to one request every 5 s; the page is told the same either way.
//
//   const watcher = ClipEvents.watch(streamUrl, (id) => clipApiUrl);  // or .forPage(...): one a page
//   watcher.follow(id, (clip) => { ...; return finished; });  // true: stop following it
window.ClipEvents = (function () {
  const READY_WITHIN_MS = 5000;

  function watch(streamUrl, clipUrl) {
    const handlers = new Map();  // clip id -> handler, while followed
    const latest = new Map();    // clip id -> the newest JSON the stream sent (before it was followed)
    let polling = false;
    let source = null;

    const heard = new Map();     // clip id -> how many stream events came for it
    const deliver = (clip) => {
      const handler = handlers.get(String(clip.id));
      if (!handler) {
        latest.set(String(clip.id), clip);
        if (latest.size > 200) latest.delete(latest.keys().next().value);  // the oldest
        return;
      }
      if (handler(clip)) handlers.delete(String(clip.id));
    };

    const fetchOnce = async (id) => {
      const before = heard.get(String(id)) || 0;
      try {
        const response = await fetch(clipUrl(id), { headers: { Accept: "application/json" }, credentials: "same-origin" });
        // A stream event that came meanwhile is newer than this answer: keep it.
        if (response.ok && (heard.get(String(id)) || 0) === before) deliver(await response.json());
        else if (response.status === 404) handlers.delete(String(id));
      } catch (error) { /* the server may be restarting: the stream or the next round says */ }
    };

    const poll = () => {
      if (polling) return;
      polling = true;
      if (source) source.close();
      let wait = 700;
      const round = async () => {
        await Promise.all(Array.from(handlers.keys()).map(fetchOnce));
        wait = Math.min(wait * 1.3, 5000);
        setTimeout(round, wait);
      };
      setTimeout(round, wait);
    };

    if (window.EventSource) {
      source = new EventSource(streamUrl, { withCredentials: true });
      const buffered = setTimeout(poll, READY_WITHIN_MS);
      source.addEventListener("ready", () => clearTimeout(buffered));
      source.addEventListener("clip", (event) => {
        const clip = JSON.parse(event.data);
        heard.set(String(clip.id), (heard.get(String(clip.id)) || 0) + 1);
        deliver(clip);
      });
      source.addEventListener("deleted", (event) => handlers.delete(String(JSON.parse(event.data).id)));
      // A dropped connection is retried by the browser (with Last-Event-ID); a refusal closes it.
      source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) poll(); });
    } else {
      poll();
    }

    return {
      follow(id, handler) {
        id = String(id);
        handlers.set(id, handler);
        const seen = latest.get(id);
        latest.delete(id);
        if (seen && handler(seen)) { handlers.delete(id); return; }
        fetchOnce(id);  // its state now, whatever the stream sent before it was followed
      },
    };
  }

  // One watcher of all the user's clips per page, whichever script asks first.
  let shared = null;
  function forPage(streamUrl, clipUrl) {
    shared = shared || watch(streamUrl, clipUrl);
    return shared;
  }

  return { watch, forPage };
})();
