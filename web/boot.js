// Starts the Doorstep app. A file rather than an inline script so that the page runs under a
// Content-Security-Policy of script-src 'self' 'wasm-unsafe-eval'.
// {{VERSION}} is replaced by scripts/build-web.sh with a hash of the build inputs.
import init from "/pkg/doorstep_web.js?v={{VERSION}}";

init({ module_or_path: "/pkg/doorstep_web_bg.wasm?v={{VERSION}}" }).catch((error) => {
  const status = document.getElementById("boot-status");
  if (status) {
    status.textContent =
      "The portal could not start in this browser. Please reload the page, or try another browser.";
  }
  console.error("Doorstep failed to start", error);
});
