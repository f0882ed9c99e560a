// Paying rent inside the portal, and the live balance, against the real server, its demo data
// and the sandbox payment provider that scripts/e2e-browser.sh starts beside it
// (DOORSTEP_SANDBOX_URL). A demo tenant pays £12.34 on the sandbox's card page in the frame on
// the pay page and is told the new balance; My Place then shows it, without the page having
// reloaded; a cash payment made at a shop (the sandbox's POST /api/events) reaches the open
// My Place by itself; a declined card says why and offers another go, with a new card page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { BASE, accountPanelsLoaded, assertNoProblems, axeViolations, launchBrowser, openPage } from "./helpers.mjs";

const TENANT = { email: "tenant.arrears@doorstep.example", password: "Kettle-meadow-arrears-2026" };
const SANDBOX = (process.env.DOORSTEP_SANDBOX_URL ?? "").replace(/\/$/, "");
const PHONE_375 = { width: 375, height: 812 };
/** How long a payment may take to go from the card page to the screen. */
const SETTLE_MS = 20_000;

let browser;
let token;
let account;

before(async () => {
  assert.ok(SANDBOX, "DOORSTEP_SANDBOX_URL names the sandbox provider (run through scripts/e2e-browser.sh)");
  browser = await launchBrowser();
  token = await apiToken(TENANT);
  const me = await apiGet("/api/v1/me");
  const accounts = me.tenancies.flatMap((t) => t.accounts);
  account = accounts.find((a) => a.kind === "rent" && a.balance_pence > 0) ?? accounts.find((a) => a.kind === "rent");
  assert.ok(account, "the demo tenant has a rent account");
});

after(async () => {
  await browser?.close();
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

async function balanceNow() {
  return (await apiGet(`/api/v1/accounts/${account.id}`)).balance_pence;
}

/** `£1,234.56` as the portal writes money. */
function money(pence) {
  const abs = Math.abs(pence);
  return `£${Math.floor(abs / 100).toLocaleString("en-GB")}.${String(abs % 100).padStart(2, "0")}`;
}

/** A balance in the API's words: "£1,234.56 in arrears", "£10.00 in credit", "£0.00". */
function describe(pence) {
  if (pence > 0) return `${money(pence)} in arrears`;
  if (pence < 0) return `${money(pence)} in credit`;
  return money(pence);
}

async function signIn(page, { email, password }) {
  await page.goto(`${BASE}/sign-in`);
  await page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: "Sign in" }).click();
}

/** Fills in the sandbox's card page inside the frame and pays. */
async function payByCard(page, card, amountText) {
  const frame = page.frameLocator("iframe.pay-frame");
  await frame.getByLabel("Card number").fill(card);
  await frame.getByLabel("Expiry date").fill("12/30");
  await frame.getByLabel("Security code").fill("123");
  await frame.getByLabel("Name on card").fill("Browser Test");
  await frame.getByRole("button", { name: `Pay ${amountText}` }).click();
}

/**
 * The problems the browser reported, less the card page's own last navigation: the portal
 * takes the frame away as soon as the payment is confirmed, which may be before the provider's
 * outcome page has finished loading in it.
 */
function realProblems(problems) {
  const cut = new RegExp(`^request failed: GET ${SANDBOX.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/pay/ses_\\w+ \\(net::ERR_ABORTED\\)$`);
  // A read still under way when the test moves the page on (page.goto) is aborted by the
  // browser: that is the navigation, not a fault of the portal.
  const leftBehind = /^request failed: GET \S+\/api\/v1\/(accounts|payments|me)\S* \(net::ERR_ABORTED\)$/;
  return problems.filter((p) => !cut.test(p) && !leftBehind.test(p));
}

async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** Waits until `locator` reads `expected` (what a person would wait to see), then asserts it. */
async function waitForText(locator, expected, what) {
  const deadline = Date.now() + SETTLE_MS;
  let text = "";
  while (Date.now() < deadline) {
    text = (await locator.innerText().catch(() => "")).trim();
    if (text === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(text, expected, what);
}

/** Every live connection the page opens, and whether each is still open. */
function watchSockets(page) {
  const sockets = [];
  page.on("websocket", (ws) => {
    if (!ws.url().endsWith("/graphql/ws")) return;
    const entry = { url: ws.url(), open: true };
    sockets.push(entry);
    ws.on("close", () => {
      entry.open = false;
    });
  });
  return sockets;
}

async function openSockets(page, sockets, expected) {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && sockets.filter((s) => s.open).length !== expected) await page.waitForTimeout(50);
  return sockets.filter((s) => s.open).length;
}

test("a tenant pays by card inside the portal, and a cash payment reaches the open page, without a reload", async () => {
  const { page, problems } = await openPage(browser, { viewport: PHONE_375 });
  const sockets = watchSockets(page);
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  const start = await balanceNow();
  const panel = page.locator(`main .rent-panel[data-account-id="${account.id}"]`);
  assert.equal((await panel.locator(".balance").innerText()).trim(), describe(start));
  // One live connection for the whole page, however many accounts it shows.
  assert.ok((await page.locator("main .rent-panel").count()) >= 1);
  assert.equal(await openSockets(page, sockets, 1), 1, "My Place opens one live connection");
  const myPlaceSocket = sockets.find((s) => s.open);
  // Anything the page keeps in memory survives only as long as the page is not reloaded.
  await page.evaluate(() => {
    window.__paymentTestMarker = "the same page";
  });

  // From the rent panel to the pay page, which starts with the arrears.
  await panel.getByRole("link", { name: "Pay into your rent account" }).click();
  await page.waitForURL(`${BASE}/my-place/accounts/${account.id}/pay`);
  const amount = page.getByLabel("How much do you want to pay?");
  await amount.waitFor();
  assert.equal(await openSockets(page, sockets, 1), 1, "the pay page has its own live connection");
  assert.equal(myPlaceSocket.open, false, "leaving My Place closed its connection");
  if (start >= 100) {
    await page.waitForFunction(() => document.getElementById("amount")?.value !== "");
    assert.equal(await amount.inputValue(), (start / 100).toFixed(2), "the amount starts as the arrears");
  }
  assert.deepEqual(await axeViolations(page), [], "axe on the pay page");

  // Less than £1 is turned away before anything starts.
  await amount.fill("0.50");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.locator(".error-summary").waitFor();
  assert.match(await page.locator(".error-summary").innerText(), /at least £1\.00/);
  assert.equal(await page.locator("iframe").count(), 0, "no payment starts");

  await amount.fill("12.34");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  const frameElement = page.locator("iframe.pay-frame");
  await frameElement.waitFor();
  const title = await frameElement.getAttribute("title");
  assert.match(title, /Card payment form for £12\.34/, "the frame is named for screen readers");
  const box = await frameElement.boundingBox();
  assert.ok(box.width <= PHONE_375.width && box.width >= 300, `the card page fits a phone (${box.width}px wide)`);
  assert.ok((await overflow(page)) <= 0, "the pay page does not scroll sideways on a 375px phone");
  await payByCard(page, "4242 4242 4242 4242", "£12.34");

  const confirmation = page.locator(".payment-confirmation");
  await confirmation.waitFor({ timeout: SETTLE_MS });
  assert.equal(await page.locator("iframe").count(), 0, "the card page is gone once the payment is in");
  assert.match(await confirmation.innerText(), /You paid £12\.34 into your rent account/);
  const afterCard = start - 1234;
  await waitForText(confirmation.locator(".new-balance"), `Your balance is now ${describe(afterCard)}.`, "the new balance");
  assert.equal(await balanceNow(), afterCard, "the API holds the payment once");
  assert.deepEqual(await axeViolations(page), [], "axe on the confirmation");

  // Back on My Place the panel shows it, and this is still the same page: no reload.
  await page.locator(".button-row").getByRole("link", { name: "Back to My Place" }).click();
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  await waitForText(panel.locator(".balance"), describe(afterCard), "the rent panel after paying by card");
  const newest = panel.locator(".recent-line").first();
  assert.match(await newest.innerText(), /Payment[\s\S]*online[\s\S]*£12\.34/);
  assert.equal(await page.evaluate(() => window.__paymentTestMarker), "the same page", "My Place did not reload");

  // Cash paid at a shop arrives at the provider, which tells the portal; the open page follows.
  const response = await fetch(`${SANDBOX}/api/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ account_number: account.account_number, amount_pence: 2500, channel: "retail_cash" }),
  });
  assert.equal(response.status, 201, `the sandbox takes the cash payment: ${await response.clone().text()}`);
  const afterCash = afterCard - 2500;
  await waitForText(panel.locator(".balance"), describe(afterCash), "the rent panel after the cash payment");
  assert.equal(
    (await panel.locator(".balance-change").innerText()).trim(),
    `Balance updated: £25.00 paid in. Now ${describe(afterCash)}.`,
    "the change is said politely",
  );
  assert.equal(await panel.locator(".balance-change").getAttribute("aria-live"), "polite");
  assert.match(await panel.locator(".recent-line").first().innerText(), /cash at a shop[\s\S]*£25\.00/);
  assert.equal(await page.evaluate(() => window.__paymentTestMarker), "the same page", "My Place did not reload");
  assert.equal(await balanceNow(), afterCash);
  assert.ok((await overflow(page)) <= 0, "My Place does not scroll sideways on a 375px phone");
  assertNoProblems(realProblems(problems), "paying by card and in cash");
  await page.context().close();
});

/** The `Idempotency-Key` of every payment the page starts. */
function watchKeys(page) {
  const keys = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && /\/api\/v1\/accounts\/\d+\/payments$/.test(request.url())) {
      keys.push(request.headers()["idempotency-key"]);
    }
  });
  return keys;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a declined card says why, and trying again starts a new payment", async () => {
  const { page, problems } = await openPage(browser);
  const keys = watchKeys(page);
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  const start = await balanceNow();
  await page.locator(`main .rent-panel[data-account-id="${account.id}"]`).getByRole("link", { name: /^Pay/ }).click();
  const amount = page.getByLabel("How much do you want to pay?");
  await amount.waitFor();
  await amount.fill("5");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.locator("iframe.pay-frame").waitFor();
  const firstPage = await page.locator("iframe.pay-frame").getAttribute("src");
  await payByCard(page, "4000 0000 0000 0002", "£5.00");

  const failed = page.locator(".payment-failed");
  await failed.waitFor({ timeout: SETTLE_MS });
  assert.equal(await failed.getAttribute("role"), "alert");
  assert.match(await failed.innerText(), /Your payment of £5\.00 did not go through/);
  assert.equal((await failed.locator(".failure-reason").innerText()).trim(), "The payment was declined.");
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("payment-failed")), true, "focus moves to the reason");
  assert.equal(await balanceNow(), start, "nothing was taken");

  // Another go is another payment: a new card page, not the finished one.
  await page.getByRole("button", { name: "Try again" }).click();
  await page.locator("iframe.pay-frame").waitFor();
  const secondPage = await page.locator("iframe.pay-frame").getAttribute("src");
  assert.notEqual(secondPage, firstPage, "trying again opens a new card page");
  assert.equal(keys.length, 2);
  assert.ok(keys.every((k) => UUID.test(k)), `random keys: ${keys}`);
  assert.notEqual(keys[1], keys[0], "another attempt has a new Idempotency-Key");
  await page.frameLocator("iframe.pay-frame").getByLabel("Card number").waitFor();
  assertNoProblems(realProblems(problems), "a declined card");
  await page.context().close();
});

test("without live updates the pay page still learns the outcome, by asking", async () => {
  const { page, problems } = await openPage(browser, { viewport: PHONE_375 });
  // Every attempt to open the live connection is closed at once, as a proxy that does not
  // pass WebSockets would.
  let refused = 0;
  await page.routeWebSocket(/\/graphql\/ws$/, (ws) => {
    refused += 1;
    ws.close({ code: 1011, reason: "no WebSockets here" });
  });
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  const start = await balanceNow();
  await page.goto(`${BASE}/my-place/accounts/${account.id}/pay`);
  const amount = page.getByLabel("How much do you want to pay?");
  await amount.waitFor();
  const triesBefore = refused;
  await amount.fill("1");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.locator("iframe.pay-frame").waitFor();
  // The card that makes the bank ask for a code.
  await payByCard(page, "4000 0000 0000 3220", "£1.00");
  const frame = page.frameLocator("iframe.pay-frame");
  await frame.getByLabel("Security code from your bank").fill("123456");
  await frame.getByRole("button", { name: "Confirm payment" }).click();

  const confirmation = page.locator(".payment-confirmation");
  await confirmation.waitFor({ timeout: SETTLE_MS });
  await waitForText(confirmation.locator(".new-balance"), `Your balance is now ${describe(start - 100)}.`, "the new balance");
  // Turned away, the page keeps trying (1 s, 2 s, 4 s … with jitter) rather than giving up.
  const deadline = Date.now() + 10_000;
  while (refused - triesBefore < 3 && Date.now() < deadline) await page.waitForTimeout(100);
  assert.ok(refused - triesBefore >= 3, `the pay page tried the live connection again (${refused - triesBefore} tries)`);
  assert.equal(await balanceNow(), start - 100);
  assertNoProblems(realProblems(problems), "paying without live updates");
  await page.context().close();
});

test("cancelling on the card page comes back to the portal, which says no money was taken", async () => {
  const { page, problems } = await openPage(browser, { viewport: PHONE_375 });
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  const start = await balanceNow();
  await page.locator(`main .rent-panel[data-account-id="${account.id}"]`).getByRole("link", { name: /^Pay/ }).click();
  const amount = page.getByLabel("How much do you want to pay?");
  await amount.waitFor();
  await amount.fill("7.50");
  await page.getByRole("button", { name: "Continue to payment" }).click();
  // The provider's cancel link leaves the frame and takes the whole window back.
  await page.frameLocator("iframe.pay-frame").getByRole("link", { name: "Cancel and go back to Doorstep" }).click();
  await page.waitForURL(`${BASE}/my-place/payment-done`);
  await page.locator("main h1", { hasText: "Payment finished" }).waitFor();
  assert.match(await page.locator("main .lede").innerText(), /Payment finished — you can close this\./);
  await waitForText(
    page.locator(".payment-done-status"),
    "Your payment of £7.50 was not finished, so no money has been taken. If you did finish it, it shows on My Place as soon as your bank confirms it.",
    "what became of the payment",
  );
  await page.getByRole("link", { name: "Go to My Place" }).click();
  await page.waitForURL(`${BASE}/my-place`);
  assert.equal(await balanceNow(), start, "nothing was taken");
  assertNoProblems(realProblems(problems), "cancelling on the card page");
  await page.context().close();
});

test("when the card service does not answer, the tenant is told, and trying again is the same payment", async () => {
  const { page, problems } = await openPage(browser);
  const keys = watchKeys(page);
  await signIn(page, TENANT);
  await page.waitForURL(`${BASE}/my-place`);
  await accountPanelsLoaded(page);
  await page.goto(`${BASE}/my-place/accounts/${account.id}/pay`);
  const amount = page.getByLabel("How much do you want to pay?");
  await amount.waitFor();
  await amount.fill("3.00");
  // The portal's answer when the provider is down (docs/payments.md), once.
  const payments = /\/api\/v1\/accounts\/\d+\/payments$/;
  await page.route(payments, (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "provider_unavailable", message: "the payment provider did not answer" } }),
    }),
  );
  await page.getByRole("button", { name: "Continue to payment" }).click();
  const summary = page.locator(".error-summary");
  await summary.waitFor();
  assert.match(await summary.innerText(), /not answering at the moment, so no payment has started and no money has been taken/);
  assert.equal(await page.locator("iframe").count(), 0);

  await page.unroute(payments);
  await page.getByRole("button", { name: "Continue to payment" }).click();
  await page.locator("iframe.pay-frame").waitFor();
  assert.equal(keys.length, 2);
  assert.ok(UUID.test(keys[0]), keys[0]);
  assert.equal(keys[1], keys[0], "the retry sends the same Idempotency-Key, so it cannot pay twice");
  // The simulated outage itself, as the browser reports it, is not a problem.
  const answered = problems.filter(
    (p) =>
      !/^HTTP 503: .*\/api\/v1\/accounts\/\d+\/payments$/.test(p) &&
      p !== "console error: Failed to load resource: the server responded with a status of 503 (Service Unavailable)",
  );
  assertNoProblems(realProblems(answered), "a retry after the card service did not answer");
  await page.context().close();
});
