// The preview's answer replaces the last one even when it is a refusal (400) or the renderer is unavailable
// (503): htmx swaps only 2xx by default, and the person must read why.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.target.id === "preview-result" && [400, 503].indexOf(event.detail.xhr.status) >= 0) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
