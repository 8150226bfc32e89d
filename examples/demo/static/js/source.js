// The "Copy" buttons of the SourceCode UI module (loaded once per page that uses it).
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  const code = button.parentElement.querySelector("pre").innerText;
  try {
    await navigator.clipboard.writeText(code);
    button.textContent = "Copied";
  } catch (error) {
    button.textContent = "Select the text to copy it";
  }
});
