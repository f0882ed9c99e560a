// Started from a file rather than inline, so the page keeps a strict Content-Security-Policy.
window.addEventListener("load", function () {
  var root = document.getElementById("graphiql");
  if (typeof GraphiQL === "undefined" || typeof React === "undefined") {
    root.textContent = "GraphiQL is not installed on this server (run `just web`). POST queries to /graphql.";
    return;
  }
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolbarOpen: true }));
});
