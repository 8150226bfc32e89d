// The static files page: fetch a file three ways and show the caching headers it came with.
"use strict";

(() => {
  const shown = [
    "content-type",
    "content-length",
    "cache-control",
    "etag",
    "last-modified",
    "accept-ranges",
    "content-range",
    "content-encoding",
  ];
  const table = document.querySelector("#static-headers tbody");
  const label = document.getElementById("static-request");

  const cell = (tag, text, className) => {
    const element = document.createElement(tag);
    element.textContent = text;
    if (className) {
      element.className = className;
    }
    return element;
  };

  const showResponse = (description, response) => {
    label.textContent = description;
    table.replaceChildren();
    const statusRow = document.createElement("tr");
    statusRow.append(cell("th", "status"), cell("td", `${response.status} ${response.statusText}`, "status-cell"));
    table.append(statusRow);
    for (const name of shown) {
      const value = response.headers.get(name);
      if (value !== null) {
        const row = document.createElement("tr");
        row.append(cell("th", name), cell("td", value));
        table.append(row);
      }
    }
  };

  document.querySelectorAll("[data-fetch]").forEach((button) => {
    button.addEventListener("click", async () => {
      const url = button.dataset.fetch;
      // no-store: ask the server every time, so its answer is what is shown.
      if (button.dataset.mode === "etag") {
        const first = await fetch(url, { cache: "no-store" });
        const etag = first.headers.get("etag");
        const second = await fetch(url, { cache: "no-store", headers: { "If-None-Match": etag } });
        showResponse(`GET ${url} with If-None-Match: ${etag}`, second);
      } else if (button.dataset.mode === "range") {
        const response = await fetch(url, { cache: "no-store", headers: { Range: "bytes=0-99" } });
        showResponse(`GET ${url} with Range: bytes=0-99`, response);
      } else {
        showResponse(`GET ${url}`, await fetch(url, { cache: "no-store" }));
      }
    });
  });
})();
