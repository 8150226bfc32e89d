// Ask the JSON endpoint for a greeting and show it on the page.
document.addEventListener("DOMContentLoaded", async () => {
  const output = document.getElementById("hello");
  if (!output) {
    return;
  }
  try {
    const response = await fetch("/api/hello?name=browser");
    const data = await response.json();
    output.textContent = data.message;
  } catch (error) {
    output.textContent = "the request failed: " + error;
  }
});
