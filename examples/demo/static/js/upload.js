// The upload page: the file goes as the raw body of a PUT; upload events move the bar.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("upload-file");
  const progress = document.getElementById("upload-progress");
  const percent = document.getElementById("upload-percent");
  const status = document.getElementById("upload-status");
  const result = document.getElementById("upload-result");
  const token = document.querySelector('meta[name="xsrf-token"]').content;
  const limit = Number(form.dataset.limit);
  const mebibytes = (bytes) => (bytes / 1048576).toFixed(1) + " MiB";

  const setProgress = (value) => {
    progress.value = value;
    percent.textContent = Math.round(value) + "%";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = input.files[0];
    result.hidden = true;
    if (!file) {
      status.textContent = "Choose a file first.";
      return;
    }
    if (file.size > limit) {
      // The server would refuse it with 413 before reading it; no need to send it.
      status.textContent = `${file.name} is ${mebibytes(file.size)}: over the ${mebibytes(limit)} limit.`;
      return;
    }
    setProgress(0);
    status.textContent = `Sending ${file.name}…`;
    const request = new XMLHttpRequest();
    request.open("PUT", `${form.dataset.url}?name=${encodeURIComponent(file.name)}`);
    request.setRequestHeader("X-XSRFToken", token);
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    request.upload.addEventListener("progress", (progressEvent) => {
      if (progressEvent.lengthComputable) {
        setProgress((100 * progressEvent.loaded) / progressEvent.total);
      }
    });
    request.addEventListener("load", () => {
      if (request.status !== 200) {
        status.textContent = `The server answered ${request.status}.`;
        return;
      }
      const answer = JSON.parse(request.responseText);
      setProgress(100);
      status.textContent = "Received and hashed by the server.";
      document.getElementById("result-name").textContent = answer.name;
      document.getElementById("result-size").textContent = answer.size;
      document.getElementById("result-sha256").textContent = answer.sha256;
      document.getElementById("result-type").textContent = answer.content_type;
      document.getElementById("result-seconds").textContent = `${answer.seconds} s`;
      result.hidden = false;
    });
    request.addEventListener("error", () => {
      status.textContent = "The upload failed: the connection was lost.";
    });
    request.send(file);
  });
})();
