// The income team's payment screens against the real server, its demo data and the sandbox
// payment provider that scripts/e2e-browser.sh starts beside it (DOORSTEP_SANDBOX_URL). Before
// the tests, payments arrive from outside as they would in real life: one by telephone for a
// tenant's account and one in cash at a shop with a reference that is nobody's (which the
// portal holds in suspense); then the sandbox's end-of-day file is reconciled with the real
// `doorstep reconcile` (DOORSTEP_BIN). A group admin (who has the income team's screens) then
// sees how tenants pay as a chart and as a table that match the API, works the run's
// exception for the unknown reference, and allocates the money to the right account.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { BASE, DATABASE_URL, assertNoProblems, axeViolations, dbRows, launchBrowser, openPage } from "./helpers.mjs";

const ADMIN = { email: "admin@pennine-vale.example", password: "Harbour-compass-admin-2026" };
const SANDBOX = (process.env.DOORSTEP_SANDBOX_URL ?? "").replace(/\/$/, "");
const PHONE_375 = { width: 375, height: 812 };
const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

let browser;
let scratch;
let token;
/** The account the telephone payment and the allocated cash are for. */
let target;
/** A reference that is no account's, made up for this run. */
let nobody;
let runId;

before(async () => {
  assert.ok(SANDBOX, "DOORSTEP_SANDBOX_URL names the sandbox provider (run through scripts/e2e-browser.sh)");
  assert.ok(process.env.DOORSTEP_BIN, "DOORSTEP_BIN names the server binary, to reconcile with");
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), "doorstep-reconcile-"));
  token = await apiToken(ADMIN);
  [target] = dbRows(
    `SELECT a.id, a.account_number FROM rent_account a JOIN organisation o ON o.id = a.organisation_id
      WHERE o.slug = 'pennine-vale-homes' AND a.kind = 'rent' AND a.closed_on IS NULL ORDER BY a.id LIMIT 1 OFFSET 7`,
  );
  assert.ok(target, "the demo landlord has rent accounts");
  nobody = `NOBODY${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;

  const before = await balance(target.id);
  await sandboxEvent({ account_number: target.account_number, amount_pence: 1500, channel: "telephone" });
  await sandboxEvent({ account_number: nobody, amount_pence: 4321, channel: "retail_cash" });
  await until("the telephone payment is posted", async () => (await balance(target.id)) === before - 1500);
  await until("the unknown reference is held in suspense", async () => (await suspenseItem(nobody)) !== undefined);

  // The provider's end-of-day file, reconciled as the drop-folder job or an operator would.
  const today = new Date().toISOString().slice(0, 10);
  const response = await fetch(`${SANDBOX}/api/end-of-day/${today}.csv`);
  assert.equal(response.status, 200, "the sandbox serves today's end-of-day file");
  const file = join(scratch, `${today}.csv`);
  writeFileSync(file, await response.text());
  execFileSync(process.env.DOORSTEP_BIN, ["reconcile", file, "--format", "json"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DOORSTEP_DATABASE_URL: DATABASE_URL },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const runs = await apiGet("/api/v1/staff/reconciliation/runs");
  runId = runs.items[0]?.id;
  assert.ok(runId, "the run is listed");
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function apiToken({ email, password }) {
  const response = await fetch(`${BASE}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ email, password, client: "app" }),
  });
  assert.equal(response.status, 200, `sign in as ${email}: ${await response.clone().text()}`);
  return (await response.json()).access_token;
}

async function apiGet(path) {
  const response = await fetch(`${BASE}${path}`, { headers: { accept: "application/json", authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${path}: ${await response.clone().text()}`);
  return response.json();
}

async function balance(accountId) {
  return (await apiGet(`/api/v1/accounts/${accountId}`)).balance_pence;
}

async function suspenseItem(reference, status = "open") {
  const page = await apiGet(`/api/v1/staff/suspense?status=${status}&limit=100`);
  return page.items.find((s) => s.account_reference === reference);
}

async function sandboxEvent(body) {
  const response = await fetch(`${SANDBOX}/api/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 201, `the sandbox takes the payment: ${await response.clone().text()}`);
}

async function until(what, check, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${what}: not within ${timeout / 1000} s`);
}

/** `£1,234.56` as the portal writes money. */
function money(pence) {
  const abs = Math.abs(pence);
  return `${pence < 0 ? "-" : ""}£${Math.floor(abs / 100).toLocaleString("en-GB")}.${String(abs % 100).padStart(2, "0")}`;
}

/** `2026-03-07` as the SPA writes it: `7 March 2026`. */
function day(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

async function signIn(page, { email, password }) {
  await page.goto(`${BASE}/sign-in`);
  await page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: "Sign in" }).click();
  // Admins start at the registration queue: let it finish loading before moving on.
  await page.waitForURL(`${BASE}/staff/registrations`);
  await page.locator("main table.queue, main .empty").first().waitFor();
}

async function waitForText(locator, expected, what) {
  const deadline = Date.now() + 10_000;
  let text = "";
  while (Date.now() < deadline) {
    text = (await locator.innerText().catch(() => "")).trim();
    if (text === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(text, expected, what);
}

test("income staff see how tenants pay, as a chart and as the same figures in a table", async () => {
  const { page, problems } = await openPage(browser);
  await signIn(page, ADMIN);
  await page.locator("nav").getByRole("link", { name: "Payments" }).click();
  await page.waitForURL(`${BASE}/staff/payments`);
  const chart = page.locator("figure.channel-chart");
  await chart.waitFor();

  // The page shows the last four weeks by day, as the API reports them.
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.parse(`${today}T00:00:00Z`) - 27 * 86_400_000).toISOString().slice(0, 10);
  const report = await apiGet(`/api/v1/staff/payments/by-channel?from=${from}&to=${today}&group=day`);
  assert.ok(report.payments > 0, "there are payments to show");
  assert.ok((await chart.locator("svg rect.bar").count()) > 0, "the chart has bars");
  const summary = await chart.locator("svg").getAttribute("aria-label");
  assert.ok(summary.startsWith(`${report.payments} payments from ${day(from)} to ${day(today)}, ${money(report.amount_pence)} in all`), summary);
  assert.deepEqual(
    (await chart.locator(".legend li").allInnerTexts()).map((t) => t.trim()),
    report.channels.map((c) => `${c.label} ${money(report.totals.find((t) => t.channel === c.channel).amount_pence)}`),
    "the legend names every channel with its money",
  );

  const table = page.locator("table.channel-table");
  const heads = (await table.locator("thead th").allInnerTexts()).map((t) => t.trim());
  assert.deepEqual(heads, ["Day", ...report.channels.map((c) => c.label), "Total"]);
  assert.equal(await table.locator("tbody tr").count(), report.periods.length, "a row per day");
  const total = (await table.locator("tfoot td").last().innerText()).trim();
  assert.equal(total, `${money(report.amount_pence)} (${report.payments})`);
  // Today's telephone payments include the one made before the test.
  const phone = report.channels.findIndex((c) => c.channel === "telephone");
  assert.ok(phone >= 0, "telephone is among the channels");
  const todays = report.periods.at(-1).channels.find((c) => c.channel === "telephone");
  assert.ok(todays.amount_pence >= 1500);
  const cell = table.locator("tbody tr").last().locator("td").nth(phone);
  assert.equal((await cell.innerText()).trim(), `${money(todays.amount_pence)} (${todays.payments})`);
  assert.deepEqual(await axeViolations(page), [], "axe on how tenants pay");

  // By rent week instead, from the keyboard.
  await page.getByLabel("Rent week").check();
  await page.getByRole("button", { name: "Show payments" }).press("Enter");
  await page.waitForURL(/group=week/);
  await waitForText(table.locator("thead th").first(), "Rent week", "the table is by rent week");

  // On a phone the page does not scroll sideways; the table scrolls in its own box.
  await page.setViewportSize(PHONE_375);
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0);
  assertNoProblems(problems, "how tenants pay");
  await page.context().close();
});

test("income staff work a reconciliation exception and allocate the suspense payment behind it", async () => {
  const { page, problems } = await openPage(browser);
  await signIn(page, ADMIN);
  await page.locator("nav").getByRole("link", { name: "Payments" }).click();
  await page.locator("figure.channel-chart").waitFor();
  await page.locator("nav[aria-label='Payments']").getByRole("link", { name: "Reconciliation" }).click();
  await page.waitForURL(`${BASE}/staff/payments/reconciliation`);
  const row = page.locator(`table.runs tr[data-run-id="${runId}"]`);
  await row.waitFor();
  const report = await apiGet(`/api/v1/staff/reconciliation/runs/${runId}`);
  assert.equal((await row.locator("td").nth(1).innerText()).trim(), String(report.run.lines), "lines");
  await row.getByRole("link").click();
  await page.waitForURL(`${BASE}/staff/payments/reconciliation/${runId}`);

  // The report as the API has it.
  const open = page.locator(".stat .open-exceptions");
  await open.waitFor();
  assert.equal((await open.innerText()).trim(), String(report.run.counts.open_exceptions));
  assert.ok(report.run.counts.open_exceptions >= 1, "the unknown reference is an open exception");
  assert.deepEqual(
    await page.locator("table.reasons tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.reason)),
    report.reasons.map((r) => r.reason_code),
  );
  assert.deepEqual(await axeViolations(page), [], "axe on the run");

  // The unknown reference's exception: a note, which leaves it open.
  const item = page.locator(".item-card", { hasText: nobody });
  await item.waitFor();
  assert.match(await item.innerText(), /Unknown account/);
  await item.getByText("Work this exception").click();
  await item.getByLabel("Note").fill("Shop receipt checked: the tenant mistyped the reference.");
  await item.getByRole("button", { name: "Add note, keep open" }).click();
  await waitForText(item.locator(".action-status"), "Note added. The exception is still open.", "the note is added");
  assert.match(await item.locator(".note").innerText(), /Shop receipt checked: the tenant mistyped the reference\./);
  assert.equal((await item.locator("h3 .tag").innerText()).trim(), "Open");

  // Its money is in suspense: allocate it to the account it was meant for.
  await item.getByRole("link", { name: "suspense queue" }).click();
  await page.waitForURL(`${BASE}/staff/payments/suspense`);
  const held = page.locator(".suspense-item", { hasText: nobody });
  await held.waitFor();
  assert.match(await held.locator("h3").innerText(), new RegExp(`£43\\.21 with reference ${nobody}`));
  const before = await balance(target.id);
  await held.getByText("Allocate to an account").click();
  const search = held.getByLabel("Account number, name, address or postcode");
  assert.equal(await search.inputValue(), nobody, "the search starts from the reference the payer gave");
  await search.fill(target.account_number);
  await held.getByRole("button", { name: "Find accounts" }).click();
  await held.getByLabel(new RegExp(`^${target.account_number} Rent`)).check();
  await held.getByLabel("Note (optional)").fill("Reference mistyped at the shop.");
  await held.getByRole("button", { name: "Allocate £43.21" }).click();
  await waitForText(
    held.locator(".action-status"),
    `£43.21 allocated to account ${target.account_number} and posted to it.`,
    "the allocation is confirmed",
  );
  assert.match(await held.locator(".suspense-status").innerText(), new RegExp(`Allocated to account ${target.account_number} by ${ADMIN.email}`));
  assert.equal(await balance(target.id), before - 4321, "the money is on the account once");
  assert.equal((await suspenseItem(nobody, "allocated"))?.allocated_account_number, target.account_number);

  // The exception closed by itself.
  await page.goto(`${BASE}/staff/payments/reconciliation/${runId}?show=exceptions`);
  const settled = page.locator(".item-card", { hasText: nobody });
  await settled.waitFor();
  assert.equal((await settled.locator("h3 .tag").innerText()).trim(), "Resolved");
  assert.equal((await page.locator(".stat .open-exceptions").innerText()).trim(), String(report.run.counts.open_exceptions - 1));
  assertNoProblems(problems, "reconciliation and suspense");
  await page.context().close();
});

test("payments are in the navigation of the roles that work them, and an income officer starts there", async () => {
  // A member of the income team, made for this run (the password goes in on standard input).
  const email = `e2e.income.${Date.now()}@pennine-vale-homes.example`;
  const password = `Income-ledger-${Math.floor(Math.random() * 1e9)}`;
  execFileSync(
    process.env.DOORSTEP_BIN,
    ["user", "create-staff", "--org", "pennine-vale-homes", "--email", email, "--role", "income", "--name", "E2E Income"],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DOORSTEP_DATABASE_URL: DATABASE_URL },
      input: `${password}\n`,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const income = await openPage(browser);
  await income.page.goto(`${BASE}/sign-in`);
  await income.page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
  await income.page.getByLabel("Email address").fill(email);
  await income.page.getByLabel("Password", { exact: true }).fill(password);
  await income.page.locator("main").getByRole("button", { name: "Sign in" }).click();
  await income.page.waitForURL(`${BASE}/staff/payments`);
  await income.page.locator("figure.channel-chart, main .empty").first().waitFor();
  const nav = income.page.locator("nav[aria-label='Main']");
  assert.equal(await nav.getByRole("link", { name: "Payments" }).count(), 1);
  assert.equal(await nav.getByRole("link", { name: "Staff" }).count(), 0, "no registrations link for a role without them");
  assertNoProblems(income.problems, "an income officer");
  await income.context.close();

  // Customer service have no payments screens: no link, and the page says so.
  const cs = await openPage(browser);
  await cs.page.goto(`${BASE}/sign-in`);
  await cs.page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
  await cs.page.getByLabel("Email address").fill(process.env.DOORSTEP_STAFF_EMAIL);
  await cs.page.getByLabel("Password", { exact: true }).fill(process.env.DOORSTEP_STAFF_PASSWORD);
  await cs.page.locator("main").getByRole("button", { name: "Sign in" }).click();
  await cs.page.waitForURL(`${BASE}/staff/registrations`);
  await cs.page.locator("main table.queue, main .empty").first().waitFor();
  assert.equal(await cs.page.locator("nav[aria-label='Main']").getByRole("link", { name: "Payments" }).count(), 0);
  await cs.page.locator("nav[aria-label='Main']").getByRole("link", { name: "Find a tenant" }).click();
  await cs.page.waitForURL(`${BASE}/staff/tenants`);
  // Typing the address in anyway.
  await cs.page.goto(`${BASE}/staff/payments/suspense`);
  await cs.page.locator("main .lede", { hasText: "Your role does not include payments." }).waitFor();
  assertNoProblems(cs.problems, "customer service");
  await cs.context.close();
});
