// Live mode: the microphone at 16 kHz mono (an AudioContext at that rate resamples it), sent as
// one-second WAV chunks to /api/live/<id>/chunks/; the answer's windows draw the current label
// and a growing timeline. Stop turns the recording into an ordinary clip.
(() => {
  const panel = document.querySelector("[data-live]");
  if (!panel || !navigator.mediaDevices || !window.AudioWorkletNode) return;
  panel.hidden = false;
  const button = panel.querySelector("[data-listen]");
  const label = panel.querySelector("[data-live-label]");
  const timeline = panel.querySelector("[data-live-timeline]");
  const note = panel.querySelector("[data-live-note]");
  const api = panel.dataset.api;
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const RATE = 16000;
  let state = null;

  function wav(samples) {
    const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
    const text = (offset, value) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
    text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, RATE, true); view.setUint32(28, RATE * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
    samples.forEach((x, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, x)) * 32767, true));
    return new Blob([view], { type: "audio/wav" });
  }

  async function post(url, body, type) {
    const headers = { "X-CSRFToken": csrf };
    if (type) headers["Content-Type"] = type;
    const response = await fetch(url, { method: "POST", headers, body, credentials: "same-origin" });
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.detail || (reply.detail && reply.detail[0]) || response.status);
    return reply;
  }

  function drawLanes(tracks, total) {
    ["speech", "music"].forEach((lane) => {
      const body = panel.querySelector(`[data-live-lane="${lane}"]`);
      if (!body) return;
      body.innerHTML = "";
      ((tracks || {})[lane] || []).forEach((span) => {
        const bar = document.createElement("span");
        bar.className = "track " + lane + (span.level_db !== undefined && span.level_db < 0 ? " under" : "");
        bar.dataset.track = lane;
        bar.style.left = (100 * span.start) / total + "%";
        bar.style.width = (100 * (span.end - span.start)) / total + "%";
        bar.title = lane + " " + span.start.toFixed(1) + "–" + span.end.toFixed(1) + " s"
          + (span.level_db !== undefined ? ", about " + Math.round(span.level_db) + " dB against the speech" : "");
        body.appendChild(bar);
      });
    });
  }

  function draw(windows, tracks) {
    if (!windows.length) return;
    const last = windows[windows.length - 1];
    label.textContent = last.uncertain ? "unsure" : last.label;
    label.className = "chip " + last.label;
    const total = Math.max(last.end, 10);
    timeline.innerHTML = "";
    windows.forEach((w, i) => {
      const start = i ? (windows[i - 1].end + w.start) / 2 : w.start;  // overlapping windows hand over midway
      const seg = document.createElement("span");
      seg.className = "seg " + w.label;
      seg.style.left = (100 * start) / total + "%";
      seg.style.width = (100 * (w.end - start)) / total + "%";
      seg.title = w.start.toFixed(1) + "–" + w.end.toFixed(1) + " s: " + w.label;
      timeline.appendChild(seg);
    });
    drawLanes(tracks, total);
  }

  async function start() {
    const session = await post(api, null, null);
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    const context = new AudioContext({ sampleRate: RATE });
    await context.audioWorklet.addModule(panel.dataset.worklet);
    const node = new AudioWorkletNode(context, "capture");
    context.createMediaStreamSource(stream).connect(node);
    let pending = [], count = 0, sending = Promise.resolve();
    node.port.onmessage = (event) => {
      pending.push(event.data);
      count += event.data.length;
      if (count < RATE) return;
      const chunk = new Float32Array(count);
      let offset = 0;
      pending.forEach((block) => { chunk.set(block, offset); offset += block.length; });
      pending = []; count = 0;
      sending = sending.then(() => post(api + session.id + "/chunks/", wav(chunk), "audio/wav"))
        .then((reply) => draw(reply.windows, reply.tracks))
        .catch((error) => { note.textContent = "Live classification stopped: " + error.message; stop(); });
    };
    state = { session, stream, context, waitForChunks: () => sending };
    button.textContent = "■ Stop";
    button.setAttribute("aria-pressed", "true");
    note.textContent = "Listening… the label follows the sound.";
  }

  // The kept recording is classified in full, as any upload; its answer (the result page's rule:
  // a recording of several kinds is answered with its time shares) appears beside the link.
  function sayAnswer(clip, link) {
    const said = document.createElement("span");
    said.dataset.liveAnswer = "";
    said.textContent = " · classifying…";
    link.after(said);
    const clips = panel.dataset.clips;
    const watcher = window.ClipEvents && window.ClipEvents.forPage(panel.dataset.events, (id) => clips + id + "/");
    if (!watcher) return;
    watcher.follow(clip.id, (reply) => {
      if (reply.status === "done") {
        said.textContent = " · " + reply.answer + (reply.uncertain ? " (unsure)" : "");
        return true;
      }
      if (reply.status === "failed") {
        said.textContent = " · " + (reply.error || "it could not be classified");
        return true;
      }
      if (reply.late) said.textContent = " · classifying… (taking longer than usual: the workers are busy)";
      return false;
    });
  }

  async function stop() {
    if (!state) return;
    const { session, stream, context, waitForChunks } = state;
    state = null;
    stream.getTracks().forEach((track) => track.stop());
    await context.close();
    button.textContent = "◉ Listen";
    button.setAttribute("aria-pressed", "false");
    await waitForChunks();
    label.textContent = "–";  // nothing is heard now: the last label would say otherwise
    label.className = "chip";
    try {
      const clip = await post(api + session.id + "/finish/", null, null);
      note.innerHTML = "";
      const link = document.createElement("a");
      link.href = "/clips/" + clip.id + "/";
      link.textContent = "Kept as " + clip.filename + ": open the full result";
      link.dataset.liveClip = clip.id;
      note.appendChild(link);
      sayAnswer(clip, link);
    } catch (error) {
      note.textContent = "The recording could not be kept: " + error.message;
    }
  }

  button.addEventListener("click", async () => {
    if (state) return stop();
    try { await start(); } catch (error) {
      note.textContent = "The microphone is not available: " + error.message;
    }
  });
})();
