// The API's documentation pages, served by the server from the assets scripts/build-web.sh
// vendors into web/dist/vendor (no CDN): Swagger UI at /api/docs and GraphiQL at GET /graphql.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { BASE, assertNoProblems, launchBrowser, openPage } from "./helpers.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("the vendored docs assets are served", async () => {
  const assets = {
    "/vendor/swagger-ui/swagger-ui-bundle.js": /javascript/,
    "/vendor/swagger-ui/swagger-ui.css": /css/,
    "/vendor/graphiql/react.production.min.js": /javascript/,
    "/vendor/graphiql/react-dom.production.min.js": /javascript/,
    "/vendor/graphiql/graphiql.min.js": /javascript/,
    "/vendor/graphiql/graphiql.min.css": /css/,
  };
  for (const [path, type] of Object.entries(assets)) {
    const response = await fetch(`${BASE}${path}`);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get("content-type") ?? "", type, `${path} content type`);
    await response.arrayBuffer();
  }
});

test("/api/docs renders Swagger UI listing /api/v1/organisations", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/api/docs`);
  await page.locator(".swagger-ui").first().waitFor({ timeout: 15_000 });
  // Swagger UI puts zero-width spaces after each "/" so long paths can wrap.
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll(".swagger-ui .opblock-summary-path")].some(
        (el) => el.textContent.replace(/\u200b/g, "").trim() === "/api/v1/organisations",
      ),
    undefined,
    { timeout: 15_000 },
  );
  assertNoProblems(problems, "/api/docs");
  await context.close();
});

test("GET /graphql in a browser shows GraphiQL", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/graphql`);
  await page.locator(".graphiql-container").waitFor({ timeout: 15_000 });
  assertNoProblems(problems, "/graphql");
  await context.close();
});
