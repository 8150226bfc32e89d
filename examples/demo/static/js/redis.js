// The Redis page: publish with fetch(), receive what Redis fans out as Server-Sent Events.
"use strict";

(() => {
  const root = document.getElementById("redis");
  const token = document.querySelector('meta[name="xsrf-token"]').content;
  const status = document.getElementById("redis-status");
  const list = document.getElementById("redis-messages");
  const form = document.getElementById("redis-form");
  const input = document.getElementById("redis-text");

  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const events = new EventSource(root.dataset.events);
  events.addEventListener("subscribed", () => setStatus("open", "subscribed"));
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CONNECTING) {
      setStatus("connecting", "reconnecting");
    }
  });
  events.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "message";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    const origin = document.createElement("time");
    origin.textContent = `${message.time} via ${message.port}`;
    item.append(text, origin);
    list.append(item);
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
    const response = await fetch(root.dataset.publish, {
      method: "POST",
      headers: { "X-XSRFToken": token },
      body: new URLSearchParams({ text }),
    });
    if (!response.ok) {
      setStatus("closed", "Redis is unavailable");
    }
  });
})();
