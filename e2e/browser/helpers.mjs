// Shared set-up for the browser tests: Debian's Chromium through playwright-core, a fresh
// context per test (so nothing is remembered between tests), and a record of every console
// error, uncaught exception and failed request, which each test asserts is empty.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export const BASE = (process.env.DOORSTEP_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A new page in a fresh context, with `problems` collecting anything the console complains about. */
export async function openPage(browser, { viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("requestfailed", (request) => {
    // A test that moves on (goto, reload, close) while a panel is still loading makes the
    // browser drop that fetch: nothing a person would see, and it happens more or less often
    // with the database's speed. Anything else that fails to arrive is a problem.
    const aborted = request.failure()?.errorText === "net::ERR_ABORTED";
    if (aborted && ["fetch", "xhr"].includes(request.resourceType())) return;
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return { context, page, problems };
}

/**
 * The server's database, as scripts/e2e-browser.sh gives it: DOORSTEP_DATABASE_URL (the
 * server's own setting, `sqlite://FILE?...` or `postgres://...`), or DOORSTEP_DB_PATH (a
 * SQLite file). Undefined when the tests were started some other way.
 */
export const DATABASE_URL =
  process.env.DOORSTEP_DATABASE_URL ?? (process.env.DOORSTEP_DB_PATH ? `sqlite://${process.env.DOORSTEP_DB_PATH}` : undefined);

/** "postgres" or "sqlite": which database the server under test runs on. */
export const BACKEND = /^postgres(ql)?:/.test(DATABASE_URL ?? "") ? "postgres" : "sqlite";

/**
 * Rows (plain objects keyed by column name) from the server's database, for what a tenant
 * knows but the API will not tell a stranger (their own account number, surname, postcode).
 * One SELECT that works on both backends; read with psql or the sqlite3 CLI.
 */
export function dbRows(query) {
  assert.ok(DATABASE_URL, "DOORSTEP_DATABASE_URL names the server's database (run through scripts/e2e-browser.sh)");
  let out;
  if (BACKEND === "postgres") {
    const wrapped = `SELECT coalesce(json_agg(row_to_json(q)), '[]'::json) FROM (${query}) q`;
    out = execFileSync("psql", [DATABASE_URL, "-XqAt", "-v", "ON_ERROR_STOP=1", "-c", wrapped], { encoding: "utf8" });
  } else {
    const file = DATABASE_URL.replace(/^sqlite:(\/\/)?/, "").replace(/\?.*$/, "");
    out = execFileSync("sqlite3", ["-json", file, query], { encoding: "utf8" });
  }
  out = out.trim();
  return out ? JSON.parse(out) : [];
}

/**
 * Waits until every account panel on My Place shows its latest transactions (or says there are
 * none), as a tenant sees it settle, and fails if a panel could not load them. A test that
 * reloads or leaves My Place before then would cut off the panel's request mid-flight.
 */
export async function accountPanelsLoaded(page, timeout = 10_000) {
  await page.waitForFunction(
    () => {
      const panels = [...document.querySelectorAll("main .rent-panel")];
      return panels.length > 0 && panels.every((p) => p.querySelector(".recent-lines, .hint, .load-error"));
    },
    undefined,
    { timeout },
  );
  const failed = await page.locator("main .rent-panel .load-error").allInnerTexts();
  assert.deepEqual(failed, [], "every account panel loads its latest transactions");
}

export function assertNoProblems(problems, where) {
  assert.deepEqual(problems, [], `${where}: the browser reported problems`);
}

/** GET a JSON document from the API, as the tests' own source of truth. */
export async function api(path) {
  const response = await fetch(`${BASE}${path}`, { headers: { accept: "application/json" } });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

export async function organisations() {
  const all = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/api/v1/organisations?${query}`);
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

/** `#1a2b3c` as the browser reports a computed colour: `rgb(26, 43, 60)`. */
export function cssRgb(hex) {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  assert.ok(match, `${hex} is not a #rrggbb colour`);
  const [r, g, b] = match.slice(1).map((part) => parseInt(part, 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Waits until the element's computed background is `hex`, then asserts it (with the real value). */
export async function expectBackground(page, selector, hex, timeout = 5000) {
  const want = cssRgb(hex);
  const read = () => page.$eval(selector, (el) => getComputedStyle(el).backgroundColor);
  await page
    .waitForFunction(
      ([sel, colour]) => {
        const el = document.querySelector(sel);
        return el && getComputedStyle(el).backgroundColor === colour;
      },
      [selector, want],
      { timeout },
    )
    .catch(() => {});
  assert.equal(await read(), want, `background of ${selector}`);
}

/**
 * Presses `key` (Tab, or Shift+Tab to go backwards) until `predicate(arg)`, run in the page,
 * holds for the focused element; fails if it never does.
 */
export async function tabUntil(page, description, predicate, arg, { key = "Tab", maxPresses = 40 } = {}) {
  for (let i = 0; i < maxPresses; i += 1) {
    await page.keyboard.press(key);
    if (await page.evaluate(predicate, arg)) return;
  }
  assert.fail(`${description} was not reached in ${maxPresses} presses of ${key}`);
}

/** The trimmed text of the focused element. */
export async function focusedText(page) {
  return page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core's WCAG 2.x A/AA rules on the page. It is injected through the DevTools
 * protocol rather than a <script> tag, so the page's Content-Security-Policy stays in force.
 */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
  );
  return results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}
