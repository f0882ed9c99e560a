// Started from a file rather than inline, so the page keeps a strict Content-Security-Policy.
window.addEventListener("load", function () {
  if (typeof SwaggerUIBundle === "undefined") {
    document.getElementById("swagger-ui").textContent =
      "The reference viewer is not installed on this server (run `just web`). The document is at /api/v1/openapi.json.";
    return;
  }
  window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
