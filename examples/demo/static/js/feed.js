// The live feed: an EventSource on /feed/events; notes are posted with fetch().
"use strict";

(() => {
  const root = document.getElementById("feed");
  const token = document.querySelector('meta[name="xsrf-token"]').content;
  const status = document.getElementById("feed-status");
  const notes = document.getElementById("notes");
  const form = document.getElementById("note-form");
  const input = document.getElementById("note-text");

  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const events = new EventSource(root.dataset.events);
  events.addEventListener("open", () => setStatus("open", "live"));
  events.addEventListener("error", () => {
    // The browser reconnects by itself (and sends Last-Event-ID) unless the stream was closed.
    if (events.readyState === EventSource.CONNECTING) {
      setStatus("connecting", "reconnecting");
    }
  });
  events.addEventListener("tick", (event) => {
    const tick = JSON.parse(event.data);
    document.getElementById("feed-clock").textContent = tick.time;
    document.getElementById("feed-listeners").textContent = tick.listeners;
    document.getElementById("feed-uptime").textContent = tick.uptime;
  });
  events.addEventListener("note", (event) => {
    const note = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "message";
    item.dataset.id = event.lastEventId;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = note.text;
    const time = document.createElement("time");
    time.textContent = note.time;
    item.append(text, time);
    notes.append(item);
    notes.scrollTop = notes.scrollHeight;
  });
  events.addEventListener("bye", () => {
    events.close();
    setStatus("closed", "the server stopped");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      return;
    }
    input.value = "";
    await fetch(root.dataset.publish, {
      method: "POST",
      headers: { "X-XSRFToken": token },
      body: new URLSearchParams({ text }),
    });
  });
})();
