// Rent accounts in the SPA against the real server and its demo data: a demo tenant signs in,
// sees the rent panel with the balance the API gives, opens the history (chart, lines with the
// running balance, date filter, "Load more"), downloads statements (the PDF's and the CSV's
// closing balance checked against the API), and nothing overflows a 375px-wide phone; then a
// member of the tenant's landlord's staff finds that tenant and sees the same balance.
//
// The demo sign-ins are the ones `doorstep seed-demo` makes and prints
// (api/src/domain/identity/demo.rs): a tenant whose rent account is in arrears, and
// customer service at every landlord. scripts/e2e-browser.sh seeds them; reading the PDF
// needs pdftotext (poppler-utils).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { BASE, DESKTOP, assertNoProblems, axeViolations, launchBrowser, openPage } from "./helpers.mjs";

const TENANT = { email: "tenant.arrears@doorstep.example", password: "Kettle-meadow-arrears-2026" };
const STAFF_PASSWORD = "Counter-ledger-staff-2026";
const PHONE_375 = { width: 375, height: 812 };
const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

let browser;
let scratch;
/** What the API says of the demo tenant, as the source of truth for the screens. */
let me;
let account;
let summary;
let token;

before(async () => {
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), "doorstep-statements-"));
  token = await apiToken(TENANT);
  me = await apiGet("/api/v1/me");
  const accounts = me.tenancies.flatMap((t) => t.accounts);
  account = accounts.find((a) => a.kind === "rent" && a.balance_pence > 0) ?? accounts[0];
  assert.ok(account, "the demo tenant has a rent account");
  summary = await apiGet(`/api/v1/accounts/${account.id}`);
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** An access token for a sign-in, as a mobile app gets one. */
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
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

/** `2026-03-07` as the SPA writes it: `7 March 2026`. */
function day(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** A balance in the API's words: "£1,234.56 in arrears", "£10.00 in credit", "£0.00". */
function describe(pence) {
  const abs = Math.abs(pence);
  const pounds = `£${Math.floor(abs / 100).toLocaleString("en-GB")}.${String(abs % 100).padStart(2, "0")}`;
  if (pence > 0) return `${pounds} in arrears`;
  if (pence < 0) return `${pounds} in credit`;
  return pounds;
}

/** A CSV field as the statement writes it: quoted when it holds a comma ("£1,234.56 …"). */
function csvField(text) {
  return /[",]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The balance at the end of `date`: the running balance of the newest line up to it. */
async function balanceAt(date) {
  const page = await apiGet(`/api/v1/accounts/${account.id}/transactions?to=${date}&limit=1`);
  return page.items[0]?.balance_after_pence ?? 0;
}

async function waitForApp(page) {
  await page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
}

async function signIn(page, { email, password }) {
  await page.goto(`${BASE}/sign-in`);
  await waitForApp(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: "Sign in" }).click();
}

/** Waits until every rent panel on My Place has loaded its latest lines (or said it could not). */
async function panelsLoaded(page) {
  await page.waitForFunction(() => {
    const panels = [...document.querySelectorAll("main .rent-panel")];
    return panels.length > 0 && panels.every((p) => p.querySelector(".recent-lines, .hint, .load-error"));
  });
  assert.deepEqual(await page.locator("main .rent-panel .load-error").allInnerTexts(), []);
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function expectNoAxeViolations(page, where) {
  assert.deepEqual(await axeViolations(page), [], `axe on ${where}`);
}

/** Waits for the history table and returns its rows' cells as text. */
async function ledgerRows(scope) {
  await scope.locator("table.ledger tbody tr").first().waitFor();
  return scope.locator("table.ledger tbody tr").evaluateAll((rows) =>
    rows.map((row) => ({
      kind: row.dataset.kind,
      date: row.querySelector("th").innerText.trim(),
      balance: row.querySelector("td:last-child").innerText.trim(),
    })),
  );
}

test("a tenant sees the rent panel, the history with its chart, and downloads statements", async () => {
  const { page, problems } = await openPage(browser, { viewport: DESKTOP });
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);

  // The rent panel: the balance in words, as the API has it, and the three latest lines.
  const panel = page.locator(`main .rent-panel[data-account-id="${account.id}"]`);
  await panelsLoaded(page);
  assert.equal((await panel.locator(".balance").innerText()).trim(), summary.balance_text);
  assert.match(summary.balance_text, / in (arrears|credit)$|^£0\.00$/);
  assert.equal((await panel.locator(".account-number").innerText()).trim(), account.account_number);
  if (summary.last_transaction_date) {
    assert.equal((await panel.locator(".last-transaction").innerText()).trim(), day(summary.last_transaction_date));
  }
  assert.equal(await panel.locator(".recent-line").count(), summary.recent.length);
  assert.equal(summary.recent.length, 3, "the demo tenant has a history");
  assert.equal((await panel.locator(".recent-line .recent-date").first().innerText()).trim(), day(summary.recent[0].date));
  await expectNoAxeViolations(page, "/my-place");

  // The history: newest first with the running balance, as the API pages it.
  await panel.getByRole("link", { name: /^History/ }).click();
  await page.waitForURL(`${BASE}/my-place/accounts/${account.id}`);
  const firstPage = await apiGet(`/api/v1/accounts/${account.id}/transactions?limit=50`);
  let rows = await ledgerRows(page);
  assert.equal(rows.length, firstPage.items.length);
  firstPage.items.forEach((line, i) => {
    assert.equal(rows[i].date, day(line.date), `line ${i} date`);
    assert.equal(rows[i].balance, describe(line.balance_after_pence), `line ${i} balance after`);
    assert.equal(rows[i].kind, line.kind, `line ${i} kind`);
  });
  assert.equal(rows[0].balance, summary.balance_text, "the newest line's balance is the account's balance");
  // Benefit lines are their own kinds, in words.
  const words = { housing_benefit: "Housing Benefit", universal_credit: "Universal Credit", payment: "Payment", charge: "Charge" };
  for (const [kind, label] of Object.entries(words)) {
    if (!firstPage.items.some((l) => l.kind === kind)) continue;
    assert.equal((await page.locator(`tr[data-kind="${kind}"] .kind`).first().innerText()).trim(), label);
  }

  // The chart, drawn from the same running balances, with its text alternative.
  const chart = page.locator("figure.chart");
  await chart.waitFor();
  const svg = chart.locator("svg[role='img']");
  const label = await svg.getAttribute("aria-label");
  const oldest = firstPage.items.at(-1);
  assert.ok(label.includes(`${describe(summary.recent[0].balance_after_pence)} on ${day(firstPage.items[0].date)}`), label);
  assert.ok(label.includes(day(oldest.date)), label);
  const steps = ((await chart.locator("path.chart-line").getAttribute("d")).match(/ H/g) ?? []).length;
  assert.equal(steps, firstPage.items.length, "one step per line");
  await expectNoAxeViolations(page, "the account history");

  // "Load more" follows the cursor.
  if (firstPage.next_cursor) {
    const secondPage = await apiGet(`/api/v1/accounts/${account.id}/transactions?limit=50&cursor=${firstPage.next_cursor}`);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.waitForFunction(
      (n) => document.querySelectorAll("table.ledger tbody tr").length === n,
      firstPage.items.length + secondPage.items.length,
    );
    rows = await ledgerRows(page);
    assert.equal(rows[firstPage.items.length].date, day(secondPage.items[0].date));
  }

  // A date filter shows only that period.
  const from = firstPage.items[Math.min(9, firstPage.items.length - 1)].date;
  const to = firstPage.items[Math.min(2, firstPage.items.length - 1)].date;
  const filtered = await apiGet(`/api/v1/accounts/${account.id}/transactions?limit=50&from=${from}&to=${to}`);
  await page.getByLabel("From", { exact: true }).fill(from);
  await page.getByLabel("To", { exact: true }).fill(to);
  await page.getByRole("button", { name: "Show these dates" }).click();
  await page.locator("table.ledger caption", { hasText: `from ${day(from)} to ${day(to)}` }).waitFor();
  rows = await ledgerRows(page);
  assert.deepEqual(rows.map((r) => r.date), filtered.items.map((l) => day(l.date)));

  // Statements: the last financial year as a PDF, a period up to today as CSV.
  await page.getByRole("link", { name: "Download a statement" }).click();
  await page.waitForURL(`${BASE}/my-place/accounts/${account.id}/statement`);
  await page.getByRole("button", { name: /^Last financial year/ }).click();
  const fyFrom = await page.getByLabel("From", { exact: true }).inputValue();
  const fyTo = await page.getByLabel("To", { exact: true }).inputValue();
  assert.match(fyFrom, /^\d{4}-04-01$/);
  assert.equal(fyTo, `${Number(fyFrom.slice(0, 4)) + 1}-03-31`);
  let download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download PDF" }).click();
  const pdf = await download;
  assert.equal(pdf.suggestedFilename(), `statement-${account.account_number}-${fyFrom}-${fyTo}.pdf`);
  const pdfPath = join(scratch, "statement.pdf");
  await pdf.saveAs(pdfPath);
  assert.equal(readFileSync(pdfPath).subarray(0, 5).toString(), "%PDF-");
  const pdfText = execFileSync("pdftotext", ["-layout", pdfPath, "-"], { encoding: "utf8" });
  const fyClosing = describe(await balanceAt(fyTo));
  assert.ok(pdfText.includes(account.account_number), "the statement names the account");
  assert.ok(pdfText.includes(fyClosing), `the PDF's closing balance is ${fyClosing}:\n${pdfText.slice(-1500)}`);
  await page.locator(".action-status", { hasText: "is downloading" }).waitFor();

  const csvFrom = oldest.date;
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("From", { exact: true }).fill(csvFrom);
  await page.getByLabel("To", { exact: true }).fill(today);
  download = page.waitForEvent("download");
  await page.getByRole("button", { name: /^Download CSV/ }).click();
  const csv = await download;
  const csvPath = join(scratch, "statement.csv");
  await csv.saveAs(csvPath);
  const csvText = readFileSync(csvPath, "utf8");
  const closing = await balanceAt(today);
  const pence = Math.abs(closing);
  const decimal = `${closing < 0 ? "-" : ""}${Math.floor(pence / 100)}.${String(pence % 100).padStart(2, "0")}`;
  assert.ok(csvText.startsWith("Statement,"), csvText.slice(0, 200));
  assert.ok(csvText.includes(`Period,${csvFrom},${today}`), csvText.slice(0, 300));
  assert.ok(
    csvText.includes(`Closing balance,${decimal},${csvField(describe(closing))}`),
    `the CSV's closing balance is ${decimal}:\n${csvText.slice(-300)}`,
  );
  await expectNoAxeViolations(page, "the statement page");
  assertNoProblems(problems, "the tenant's account screens");
  await page.context().close();
});

test("on a 375px-wide phone nothing scrolls sideways", async () => {
  const { page, problems } = await openPage(browser, { viewport: PHONE_375 });
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await panelsLoaded(page);
  assert.ok((await overflow(page)) <= 0, `My Place fits (overflow ${await overflow(page)}px)`);

  await page.goto(`${BASE}/my-place/accounts/${account.id}`);
  await ledgerRows(page);
  await page.locator("figure.chart svg").waitFor();
  assert.ok((await overflow(page)) <= 0, `the history fits (overflow ${await overflow(page)}px)`);
  const box = await page.locator("figure.chart svg").boundingBox();
  assert.ok(box.width > 200 && box.x + box.width <= PHONE_375.width, `the chart fits the screen: ${JSON.stringify(box)}`);
  // Each line is a card with its column names, not a table wider than the screen.
  const row = page.locator("table.ledger tbody tr").first();
  assert.ok((await row.boundingBox()).width <= PHONE_375.width);
  const labels = await row.locator("td").evaluateAll((cells) =>
    cells.map((cell) => getComputedStyle(cell, "::before").content),
  );
  assert.ok(labels.some((l) => l.includes("Balance after")), `each cell names its column: ${labels}`);

  await page.goto(`${BASE}/my-place/accounts/${account.id}/statement`);
  await page.getByRole("button", { name: "Download PDF" }).waitFor();
  assert.ok((await overflow(page)) <= 0, `the statement page fits (overflow ${await overflow(page)}px)`);
  assertNoProblems(problems, "the tenant's screens on a phone");
  await page.context().close();
});

test("staff of the tenant's landlord find them and see the same balance", async () => {
  const tenancy = me.tenancies.find((t) => t.accounts.some((a) => a.id === account.id));
  const staff = { email: `customer.service@${me.organisation.slug}.example`, password: STAFF_PASSWORD };
  const { page, problems } = await openPage(browser, { viewport: DESKTOP });
  await signIn(page, staff);
  await page.waitForURL(`${BASE}/staff/registrations`);
  await page.locator("nav").getByRole("link", { name: "Find a tenant" }).click();
  await page.waitForURL(`${BASE}/staff/tenants`);

  await page.getByLabel("Name, address, postcode or account number").fill(`${me.person.surname} ${tenancy.property.postcode}`);
  await page.getByRole("button", { name: "Search" }).click();
  const result = page.locator(`ol.results li[data-tenancy-id="${tenancy.id}"]`);
  await result.waitFor();
  assert.ok((await result.innerText()).includes(account.balance_text), "the result shows the balance");
  await expectNoAxeViolations(page, "/staff/tenants");

  // The same search by account number finds exactly that tenancy.
  await page.getByLabel("Name, address, postcode or account number").fill(account.account_number);
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(new RegExp(`/staff/tenants\\?q=${account.account_number}$`));
  await page.locator(".results-heading", { hasText: account.account_number }).waitFor();
  assert.equal(await page.locator("ol.results > li").count(), 1);

  await page.locator(`ol.results li[data-tenancy-id="${tenancy.id}"] h3 a`).click();
  await page.waitForURL(`${BASE}/staff/tenants/${tenancy.id}`);
  const card = page.locator(`li.staff-account[data-account-id="${account.id}"]`);
  await card.waitFor();
  assert.equal((await card.locator(".balance").innerText()).trim(), summary.balance_text);
  assert.ok((await page.locator("main").innerText()).includes(me.person.surname));
  assert.equal(await card.locator(".recent-line").count(), 3);
  await expectNoAxeViolations(page, "the staff view of a tenancy");

  // The tenant's own history, within the staff page.
  const toggle = card.locator(`button[aria-controls="account-${account.id}-history"]`);
  assert.equal(await toggle.getAttribute("aria-expanded"), "false");
  await card.getByRole("button", { name: "Show history and statements" }).click();
  assert.equal(await toggle.getAttribute("aria-expanded"), "true");
  assert.equal((await toggle.innerText()).trim(), "Hide history and statements");
  const rows = await ledgerRows(card);
  assert.equal(rows[0].balance, summary.balance_text);
  await card.locator("figure.chart svg").waitFor();
  await expectNoAxeViolations(page, "a tenant's history on the staff page");

  await page.setViewportSize(PHONE_375);
  assert.ok((await overflow(page)) <= 0, `the staff view fits a phone (overflow ${await overflow(page)}px)`);
  assertNoProblems(problems, "the staff screens");
  await page.context().close();
});
