// Upload page: drag and drop (or pick) files, upload each through the API with its own progress
// bar, then follow its status live until done. Also records from the microphone. Without
// JavaScript the plain form still posts.
(function () {
  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const api = form.dataset.api;
  const list = document.querySelector("[data-upload-list]");
  const zone = form.querySelector("[data-dropzone]");
  const input = form.querySelector("input[type=file]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;

  function row(name) {
    const item = document.createElement("li");
    item.innerHTML = '<strong></strong> <span class="status queued" data-state>uploading</span>' +
      '<progress max="100" value="0"></progress><div data-detail></div>';
    item.querySelector("strong").textContent = name;
    list.prepend(item);
    return item;
  }

  function setState(item, state, text) {
    const badge = item.querySelector("[data-state]");
    badge.className = "status " + state;
    badge.textContent = text || state;
    item.dataset.status = state;
  }

  function spoken(seconds) {  // as classify/clips/summary.py's spoken_seconds says it
    if (seconds < 9.95) return seconds.toFixed(1) + " s";
    if (seconds < 90) return Math.round(seconds) + " s";
    const minutes = Math.round(seconds / 60);
    const hours = Math.floor(minutes / 60);
    return hours ? hours + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "") : minutes + " min";
  }

  function progressText(progress) {
    const of = progress.total_s ? " of " + spoken(progress.total_s) : "";
    const left = progress.left_s !== null && progress.left_s !== undefined ? ", about " + spoken(progress.left_s) + " left" : "";
    return spoken(progress.done_s) + of + left;
  }

  // Each clip's row follows it as it changes: pushed over the page's one event stream, polled
  // where that cannot be held (static/js/clip-events.js).
  const watcher = window.ClipEvents && window.ClipEvents.forPage(form.dataset.events, (id) => api + id + "/");

  function follow(item, clip) {
    const link = document.createElement("a");
    link.href = "/clips/" + clip.id + "/";
    link.textContent = "open";
    if (!watcher) return;
    watcher.follow(clip.id, (clip) => {
      setState(item, clip.status);
      const detail = item.querySelector("[data-detail]");
      if (clip.status === "done") {
        // The answer as the result page gives it: one label, or a mixed clip's shares.
        detail.textContent = "";
        const chip = document.createElement("span");
        chip.className = "chip " + (clip.mixed ? "mixed" : clip.label);
        chip.textContent = clip.answer;
        detail.append(chip, clip.uncertain ? " unsure · " : clip.mixed ? " · " : " " + Math.round(clip.confidence * 100) + "% · ", link);
        return true;
      }
      if (clip.status === "failed") {
        detail.textContent = clip.error;
        return true;
      }
      if (clip.progress) {  // a long recording at work: long, not late
        const bar = item.querySelector("progress");
        if (clip.progress.total_s) { bar.hidden = false; bar.value = (100 * clip.progress.done_s) / clip.progress.total_s; }
        detail.textContent = "classifying: " + progressText(clip.progress) + " ";
        detail.append(link);
      } else if (clip.late) {  // the server's rule (classify/clips/summary.py: is_late)
        detail.textContent = "Taking longer than usual (the workers are busy); it will finish. ";
        detail.append(link);
      } else {
        detail.textContent = "";
      }
      return false;
    });
  }

  // Files from this size go in resumable parts (tus, static/vendor/tus-js-client): a dropped
  // connection, or a closed tab reopened, continues where it stopped instead of starting over.
  const RESUMABLE_FROM = 32 * 1024 * 1024;

  function sendResumable(file, name) {
    const item = row(name || file.name);
    const bar = item.querySelector("progress");
    const upload = new window.tus.Upload(file, {
      endpoint: form.dataset.resumable,
      chunkSize: 16 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      metadata: { filename: name || file.name, filetype: file.type },
      headers: { "X-CSRFToken": csrf },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => {
        bar.value = (100 * sent) / total;
        if (sent === total) setState(item, "queued", "checking");  // the server reads the whole file
      },
      onError: (error) => {
        bar.hidden = true;
        setState(item, "failed", "refused");
        let detail = "";
        try { detail = JSON.parse(error.originalResponse.getBody()).detail; } catch (e) { /* not JSON */ }
        item.querySelector("[data-detail]").textContent = detail || "The upload stopped: " + error.message;
      },
      onSuccess: async ({ lastResponse }) => {
        bar.value = 100;
        let id = lastResponse.getHeader("Upload-Clip-Id");
        if (!id) {
          // Every byte was already there (its last part was refused for want of room, kept, and
          // the same file chosen again): tus takes that as done; the server makes the clip when
          // the last part is sent again, with no bytes.
          setState(item, "queued", "checking");
          const finish = await fetch(upload.url, {
            method: "PATCH",
            credentials: "same-origin",
            headers: {
              "Tus-Resumable": "1.0.0", "Upload-Offset": String(file.size),
              "Content-Type": "application/offset+octet-stream", "X-CSRFToken": csrf,
            },
          }).catch(() => null);
          id = finish && finish.headers.get("Upload-Clip-Id");
          if (!id) {
            bar.hidden = true;
            setState(item, "failed", "refused");
            let detail = "";
            try { detail = (await finish.json()).detail; } catch (e) { /* not JSON */ }
            item.querySelector("[data-detail]").textContent = detail || "The upload could not be finished; try again.";
            return;
          }
        }
        setState(item, "queued");
        follow(item, { id });
      },
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);  // same file, same browser
      upload.start();
    });
  }

  function send(file, name) {
    if (window.tus && window.tus.isSupported && file.size >= RESUMABLE_FROM) return sendResumable(file, name);
    const item = row(name || file.name);
    const bar = item.querySelector("progress");
    const body = new FormData();
    body.append("file", file, name || file.name);
    const request = new XMLHttpRequest();
    request.open("POST", api);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) bar.value = (100 * event.loaded) / event.total;
      if (event.lengthComputable && event.loaded === event.total) setState(item, "queued", "checking");
    };
    request.onload = () => {
      bar.value = 100;
      let reply = {};
      try { reply = JSON.parse(request.responseText); } catch (error) { /* not JSON */ }
      if (request.status === 201) {
        setState(item, reply.status);
        follow(item, reply);
      } else {
        bar.hidden = true; // a full bar reads as success: a refusal shows its reason instead
        setState(item, "failed", request.status === 429 ? "limit reached" : "refused");
        item.querySelector("[data-detail]").textContent =
          (reply.file && reply.file[0]) || reply.detail || "The upload failed (" + request.status + ").";
      }
    };
    request.onerror = () => {
      bar.hidden = true;
      setState(item, "failed", "failed");
      item.querySelector("[data-detail]").textContent = "The upload was interrupted; check your connection.";
    };
    request.send(body);
  }

  function sendAll(files) {
    Array.from(files).forEach((file) => send(file));
  }

  form.addEventListener("submit", (event) => {
    if (!input.files.length) return;
    event.preventDefault();
    sendAll(input.files);
    input.value = "";
  });
  input.addEventListener("change", () => { sendAll(input.files); input.value = ""; });
  // Choosing or dropping files uploads them at once: the button is for the page without JavaScript.
  form.querySelector("[data-upload-submit]").hidden = true;
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    sendAll(event.dataTransfer.files);
  });

  // Recording: MediaRecorder gives webm/opus in Chromium and Firefox, mp4 in Safari; the server
  // decodes all of them.
  const recorder = document.querySelector("[data-recorder]");
  if (!recorder || !navigator.mediaDevices || !window.MediaRecorder) return;
  recorder.hidden = false;
  document.querySelector("[data-microphone-heading]").hidden = false;
  const button = recorder.querySelector("[data-record]");
  const elapsed = recorder.querySelector("[data-elapsed]");
  const level = recorder.querySelector("[data-level]");
  let session = null;

  async function start() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const media = new MediaRecorder(stream);
    const chunks = [];
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const began = Date.now();
    const timer = setInterval(() => {
      const seconds = Math.floor((Date.now() - began) / 1000);
      elapsed.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      analyser.getFloatTimeDomainData(samples);
      level.value = Math.min(1, Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length) * 4);
    }, 100);
    media.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    media.onstop = () => {
      clearInterval(timer);
      stream.getTracks().forEach((track) => track.stop());
      context.close();
      const type = media.mimeType || "audio/webm";
      const extension = type.includes("mp4") ? "m4a" : type.includes("ogg") ? "ogg" : "webm";
      const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, "-");
      send(new Blob(chunks, { type }), "recording-" + stamp + "." + extension);
      level.value = 0;
    };
    media.start(250);
    session = media;
    button.textContent = "■ Stop";
    button.setAttribute("aria-pressed", "true");
  }

  button.addEventListener("click", async () => {
    if (session) {
      session.stop();
      session = null;
      button.textContent = "● Record";
      button.setAttribute("aria-pressed", "false");
      return;
    }
    try { await start(); } catch (error) {
      recorder.querySelector("[data-record-note]").textContent = "The microphone is not available: " + error.message;
    }
  });
})();
