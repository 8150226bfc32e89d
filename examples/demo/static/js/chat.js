// The chat page: one WebSocket to /chat/socket, JSON messages both ways.
"use strict";

(() => {
  const room = document.getElementById("chat");
  const status = document.getElementById("chat-status");
  const online = document.getElementById("chat-online");
  const list = document.getElementById("messages");
  const form = document.getElementById("chat-form");
  const nameInput = document.getElementById("chat-name");
  const textInput = document.getElementById("chat-text");
  nameInput.value = localStorage.getItem("chat-name") || "";

  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  // What people type is set as textContent: it is never parsed as HTML.
  const show = (message) => {
    const item = document.createElement("li");
    item.className = "message";
    item.classList.toggle("mine", message.name === localStorage.getItem("chat-name"));
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = message.name;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    const time = document.createElement("time");
    time.textContent = message.time;
    item.append(name, text, time);
    list.append(item);
    list.scrollTop = list.scrollHeight;
  };

  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + room.dataset.socket);
  socket.addEventListener("open", () => setStatus("open", "connected"));
  socket.addEventListener("close", (event) => {
    const why = event.code === 1001 ? "the server stopped (1001 Going Away)" : `closed (${event.code})`;
    setStatus("closed", why);
    online.textContent = "0";
    form.querySelectorAll("input, button").forEach((element) => {
      element.disabled = true;
    });
  });
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "history") {
      data.messages.forEach(show);
    } else if (data.type === "message") {
      show(data);
    } else if (data.type === "presence") {
      online.textContent = data.online;
    }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textInput.value.trim();
    if (!text || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    const name = nameInput.value.trim() || "anonymous";
    localStorage.setItem("chat-name", name);
    socket.send(JSON.stringify({ name, text }));
    textInput.value = "";
    textInput.focus();
  });
})();
