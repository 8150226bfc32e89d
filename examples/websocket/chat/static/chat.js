// The chat page: messages arrive as HTML rendered (and escaped) by the server.
"use strict";

const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const socket = new WebSocket(scheme + location.host + "/chatsocket");
const button = document.querySelector("#messageform button");

socket.onopen = () => {
  document.getElementById("status").textContent = "open";
  button.disabled = false;
};
socket.onclose = (event) => {
  document.getElementById("status").textContent = "closed (" + event.code + ")";
  button.disabled = true;
};
socket.onmessage = (event) => {
  const update = JSON.parse(event.data);
  if (update.type === "stats") {
    for (const name of ["online", "messages", "chatters"]) {
      document.getElementById(name).textContent = update[name];
    }
  } else if (update.type === "message" && !document.getElementById("m" + update.id)) {
    const inbox = document.getElementById("inbox");
    inbox.insertAdjacentHTML("beforeend", update.html);
    inbox.lastElementChild.scrollIntoView();
  }
};

document.getElementById("messageform").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const body = document.getElementById("body");
  const name = document.getElementById("name").value;
  socket.send(JSON.stringify({ name: name, body: body.value }));
  body.value = "";
  body.focus();
});
