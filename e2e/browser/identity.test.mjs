// Registering, the staff queue, the PIN letter, activating, signing in and out, in the SPA
// against the real server. The whole tenant journey runs as a tenant and a member of staff
// would: the tenant registers with their tenancy's details, staff validate the request and
// download the PIN letter, the test reads the PIN out of that PDF (as the tenant reads the
// letter), and the tenant finishes registering, signs in, sees My Place and signs out.
//
// scripts/e2e-browser.sh runs this once on SQLite and once on PostgreSQL. It provides
// DOORSTEP_DATABASE_URL (to find a tenancy's details, read with sqlite3 or psql through
// helpers.mjs's dbRows) and DOORSTEP_STAFF_EMAIL / DOORSTEP_STAFF_PASSWORD (customer_service
// at pennine-vale-homes); reading the letter needs pdftotext (poppler-utils).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import {
  BASE,
  DATABASE_URL,
  DESKTOP,
  PHONE,
  accountPanelsLoaded,
  assertNoProblems,
  axeViolations,
  dbRows,
  focusedText,
  launchBrowser,
  openPage,
  organisations,
  tabUntil,
} from "./helpers.mjs";

const STAFF = { email: process.env.DOORSTEP_STAFF_EMAIL, password: process.env.DOORSTEP_STAFF_PASSWORD };
const ORG = "pennine-vale-homes";

let browser;
/** The landlord a fresh browser is shown: the first organisation without a parent. */
let shown;
let scratch;

before(async () => {
  assert.ok(DATABASE_URL, "DOORSTEP_DATABASE_URL names the server's database (run through scripts/e2e-browser.sh)");
  assert.ok(STAFF.email && STAFF.password, "DOORSTEP_STAFF_EMAIL and DOORSTEP_STAFF_PASSWORD are set");
  browser = await launchBrowser();
  const all = await organisations();
  shown = all.find((org) => !org.parent_slug) ?? all[0];
  assert.ok(all.some((org) => org.slug === ORG), `the demo data has ${ORG}`);
  scratch = mkdtempSync(join(tmpdir(), "doorstep-letters-"));
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * The lead tenant of a current home tenancy at the landlord, with a rent account and a housing
 * officer, that nobody has registered for yet. `skip` passes over the first ones, so that
 * tests do not share a tenancy.
 */
function tenancy(skip = 0) {
  const rows = dbRows(`
    SELECT ra.account_number, ra.balance_pence, p.title, p.forename, p.surname,
           pr.address_line1, pr.address_line2, pr.town, pr.postcode,
           ho.name AS officer_name, ho.phone AS officer_phone, ho.email AS officer_email
    FROM rent_account ra
    JOIN tenancy t ON t.id = ra.tenancy_id
    JOIN organisation o ON o.id = t.organisation_id
    JOIN tenancy_member tm ON tm.tenancy_id = t.id AND tm.role = 'lead'
    JOIN person p ON p.id = tm.person_id
    JOIN property pr ON pr.id = t.property_id
    JOIN housing_officer ho ON ho.id = pr.housing_officer_id
    WHERE o.slug = '${ORG}' AND ra.kind = 'rent' AND ra.closed_on IS NULL AND t.end_date IS NULL
      AND pr.kind = 'home' AND ra.balance_pence <> 0
      AND NOT EXISTS (SELECT 1 FROM registration r WHERE r.account_number = ra.account_number)
      AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.person_id = p.id)
    ORDER BY ra.id LIMIT 1 OFFSET ${Number(skip)}`);
  assert.equal(rows.length, 1, "the demo data has a tenancy to register for");
  return rows[0];
}

/** Each test's own email address, so that reruns against the same database do not collide. */
function uniqueEmail(who) {
  return `${who}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}@example.com`;
}

/** Drops the expected failed answers (`HTTP <status>: <url ending>`) and Chrome's console lines for them. */
function without(problems, expected) {
  return problems.filter(
    (p) =>
      !expected.some(([status, path]) => p.startsWith(`HTTP ${status}: `) && p.includes(path)) &&
      !expected.some(([status]) => new RegExp(`^console error: Failed to load resource: .*status of ${status}`).test(p)),
  );
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

async function expectNoAxeViolations(page, where) {
  assert.deepEqual(await axeViolations(page), [], `axe on ${where}`);
}

async function describedBy(page, selector) {
  const ids = ((await page.locator(selector).getAttribute("aria-describedby")) ?? "").split(/\s+/).filter(Boolean);
  const texts = [];
  for (const id of ids) texts.push((await page.locator(`#${id}`).innerText()).trim());
  return texts.join(" ");
}

/** Reads the PIN from a letter as a tenant would: the text of the PDF. */
function pinFromLetter(pdfPath) {
  const text = execFileSync("pdftotext", ["-layout", pdfPath, "-"], { encoding: "utf8" });
  const match = /Your PIN:\s*([2-9A-HJ-NP-Z]{5} [2-9A-HJ-NP-Z]{5})/.exec(text);
  assert.ok(match, `the letter shows a PIN:\n${text}`);
  return { pin: match[1], text };
}

test("the whole tenant journey: register, staff validate, PIN letter, activate, sign in, My Place, sign out", async () => {
  const home = tenancy(0);
  const tenantEmail = uniqueEmail("tenant");
  const password = "juniper kettle harbour lantern";

  // 1. The tenant asks to register.
  const tenant = await openPage(browser, { viewport: PHONE });
  await tenant.page.goto(`${BASE}/register`);
  await waitForApp(tenant.page);
  await expectNoAxeViolations(tenant.page, "/register");
  await tenant.page.getByLabel("Rent account number").fill(home.account_number);
  await tenant.page.getByLabel("Surname").fill(home.surname);
  await tenant.page.getByLabel("Postcode").fill(home.postcode.toLowerCase());
  await tenant.page.getByLabel("Email address").fill(tenantEmail);
  await tenant.page.getByRole("button", { name: "Ask to register" }).click();
  const confirmation = tenant.page.locator(".confirmation");
  await confirmation.waitFor();
  await tenant.page.waitForFunction(() => document.activeElement?.matches(".confirmation-title"));
  assert.match(await tenant.page.locator("main").innerText(), /If the details match a tenancy, we will post a PIN to your home/);
  await expectNoAxeViolations(tenant.page, "the registration confirmation");

  // 2. Staff sign in, find the request beside its tenancy, and validate it.
  const staff = await openPage(browser);
  await signIn(staff.page, STAFF);
  await staff.page.waitForURL(`${BASE}/staff/registrations`);
  await staff.page.locator("header .signed-in-name", { hasText: STAFF.email }).waitFor();
  assert.equal(await staff.page.locator("nav").getByRole("link", { name: "Staff" }).getAttribute("href"), "/staff/registrations");
  const row = staff.page.locator("table.queue tbody tr", { hasText: tenantEmail });
  await row.waitFor();
  const cells = row.locator("td");
  // What the person typed, then the tenancy it matched, side by side.
  const typed = await cells.nth(0).innerText();
  const matched = await cells.nth(1).innerText();
  for (const value of [home.account_number, home.surname, tenantEmail]) assert.ok(typed.includes(value), `typed: ${value}`);
  for (const value of [home.account_number, home.forename, home.address_line1, home.town, home.postcode]) {
    assert.ok(matched.includes(value), `matched tenancy shows ${value}: ${matched}`);
  }
  assert.match(await cells.nth(2).innerText(), /Waiting for a decision/);
  assert.equal(await staff.page.locator("table.queue caption").count(), 1);
  assert.equal(await staff.page.locator('table.queue thead th[scope="col"]').count(), 5);
  await expectNoAxeViolations(staff.page, "/staff/registrations");

  await row.getByRole("button", { name: /^Validate REG-\d+$/ }).click();
  const dialog = staff.page.locator("dialog.dialog");
  await dialog.waitFor({ state: "visible" });
  assert.match(await dialog.innerText(), new RegExp(home.address_line1));
  await expectNoAxeViolations(staff.page, "the validate dialog");
  await dialog.getByRole("button", { name: "Validate and issue a PIN" }).click();
  await dialog.waitFor({ state: "hidden" });
  await staff.page.locator(".action-status", { hasText: "is validated" }).waitFor();
  await staff.page.waitForFunction(() => document.activeElement?.matches(".action-status"));
  const validatedRow = staff.page.locator("table.queue tbody tr", { hasText: tenantEmail });
  await validatedRow.locator(".badge", { hasText: "Validated" }).waitFor();

  // 3. The letter, downloaded from the queue; the PIN read out of the PDF.
  const download = staff.page.waitForEvent("download");
  await validatedRow.getByRole("link", { name: /^Download letter for REG-\d+ \(PDF\)$/ }).click();
  const letterPath = join(scratch, "letter.pdf");
  await (await download).saveAs(letterPath);
  const { pin, text } = pinFromLetter(letterPath);
  assert.ok(text.includes(home.address_line1) && text.includes(home.postcode), "the letter is addressed to the home");
  assert.ok(text.includes(`${BASE}/register/activate`), "the letter says where to enter the PIN");
  await validatedRow.locator(".status-note", { hasText: "Letter made" }).waitFor();
  assertNoProblems(staff.problems, "staff screens");

  // 4. The tenant finishes registering with the PIN.
  await tenant.page.goto(`${BASE}/register/activate`);
  await waitForApp(tenant.page);
  await expectNoAxeViolations(tenant.page, "/register/activate");
  await tenant.page.getByLabel("Rent account number").fill(home.account_number);
  await tenant.page.getByLabel("PIN", { exact: true }).fill(pin.toLowerCase());
  await tenant.page.getByLabel("Email address").fill(tenantEmail);
  await tenant.page.getByLabel("Create a password").fill(password);
  await tenant.page.getByLabel("Type the password again").fill(password);
  await tenant.page.getByRole("button", { name: "Finish registering" }).click();
  await tenant.page.waitForURL(`${BASE}/sign-in`);
  await tenant.page.locator(".notice-flash", { hasText: "You have finished registering" }).waitFor();
  assert.equal(await tenant.page.getByLabel("Email address").inputValue(), tenantEmail, "the email is filled in");

  // 5. Signs in and sees their home, housing officer and accounts.
  await tenant.page.getByLabel("Password", { exact: true }).fill(password);
  await tenant.page.locator("main").getByRole("button", { name: "Sign in" }).click();
  await tenant.page.waitForURL(`${BASE}/my-place`);
  const main = tenant.page.locator("main");
  await main.locator(".greeting").waitFor();
  await accountPanelsLoaded(tenant.page);
  assert.equal((await main.locator(".greeting").innerText()).trim(), `Hello, ${home.forename}.`);
  const fullName = [home.title, home.forename, home.surname].filter(Boolean).join(" ");
  assert.equal((await tenant.page.locator("header .signed-in-name").innerText()).trim(), fullName);
  // A tenant who also rents a garage sees that tenancy too, with its own address.
  const address = await main.locator(".home-address", { hasText: home.address_line1 }).innerText();
  for (const line of [home.address_line1, home.address_line2, home.town, home.postcode].filter(Boolean)) {
    assert.ok(address.includes(line), `address shows ${line}`);
  }
  const place = await main.innerText();
  for (const value of [home.officer_name, home.officer_phone, home.officer_email].filter(Boolean)) {
    assert.ok(place.includes(value), `My Place shows the housing officer's ${value}`);
  }
  const pounds = `£${(Math.abs(home.balance_pence) / 100).toLocaleString("en-GB", { minimumFractionDigits: 2 })}`;
  const worded = home.balance_pence > 0 ? `${pounds} in arrears` : `${pounds} in credit`;
  assert.ok(place.includes(worded), `the rent account reads "${worded}"`);
  await expectNoAxeViolations(tenant.page, "/my-place at phone width");
  const overflow = await tenant.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `My Place fits a phone (overflow ${overflow}px)`);

  // A reload keeps the sign-in (a new access token from the refresh cookie)...
  await tenant.page.reload();
  await tenant.page.locator("main .greeting").waitFor();
  await accountPanelsLoaded(tenant.page);
  // ...and a tenant has no staff screens.
  assert.equal(await tenant.page.locator("nav").getByRole("link", { name: "Staff" }).count(), 0);
  await tenant.page.goto(`${BASE}/staff/registrations`);
  await tenant.page.locator("main", { hasText: "This page is for staff." }).waitFor();

  // 6. Signs out; a reload is still signed out, and the refresh cookie is gone.
  await tenant.page.locator("header").getByRole("button", { name: "Sign out" }).click();
  await tenant.page.waitForURL(`${BASE}/`);
  await tenant.page.locator(".notice-flash", { hasText: "You have signed out." }).waitFor();
  await tenant.page.locator("header").getByRole("link", { name: "Sign in" }).waitFor();
  await tenant.page.reload();
  await waitForApp(tenant.page);
  await tenant.page.locator("header").getByRole("link", { name: "Sign in" }).waitFor();
  assert.equal(await tenant.page.locator("header .signed-in").count(), 0);
  const cookies = await tenant.context.cookies();
  assert.ok(!cookies.some((c) => c.name === "doorstep_refresh" && c.value), "no refresh cookie after signing out");
  assert.equal(
    await tenant.page.evaluate(() => Object.keys(localStorage).filter((k) => /token/i.test(localStorage.getItem(k) ?? k)).length),
    0,
    "no token in local storage",
  );
  await tenant.page.goto(`${BASE}/my-place`);
  await tenant.page.waitForURL(`${BASE}/sign-in?next=%2Fmy-place`);
  assertNoProblems(tenant.problems, "tenant journey");

  await tenant.context.close();
  await staff.context.close();
});

test("a wrong PIN is explained beside the field, with the landlord's phone number", async () => {
  const home = tenancy(1);
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/register/activate`);
  await waitForApp(page);
  await page.getByLabel("Rent account number").fill(home.account_number);
  await page.getByLabel("PIN", { exact: true }).fill("ABCDE FGHJK");
  await page.getByLabel("Email address").fill(uniqueEmail("wrong-pin"));
  await page.getByLabel("Create a password").fill("copper meadow window seven");
  await page.getByLabel("Type the password again").fill("copper meadow window seven");
  await page.getByRole("button", { name: "Finish registering" }).click();

  const summary = page.locator(".error-summary");
  await summary.waitFor();
  await page.waitForFunction(() => document.activeElement?.matches(".error-summary"));
  assert.match(await summary.innerText(), /PIN does not match/);
  assert.equal(await page.locator("#pin").getAttribute("aria-invalid"), "true");
  const read = await describedBy(page, "#pin");
  assert.match(read, /PIN does not match that account number/, "the error is read with the PIN field");
  // Five wrong PINs lock it: the way out is a phone call to the landlord shown.
  const help = await page.locator(".field-has-error").innerText();
  assert.ok(help.includes(shown.contacts.phone), `the PIN error gives ${shown.contacts.phone}: ${help}`);
  // The error summary's link takes focus to the field.
  await summary.getByRole("link").click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), "pin");
  await expectNoAxeViolations(page, "a PIN error");
  assertNoProblems(without(problems, [[422, "/api/v1/registrations/activate"]]), "wrong PIN");
  await context.close();
});

test("an unmatched request gets the same confirmation; staff see it flagged, reject it, and print a run", async () => {
  const confirmations = [];
  const home = tenancy(2);
  const unmatchedEmail = uniqueEmail("unmatched");
  for (const details of [
    { account: home.account_number, surname: home.surname, postcode: home.postcode, email: uniqueEmail("matched") },
    // The right account number with a surname that is not on the tenancy: queued as unmatched
    // for this landlord's staff to follow up.
    { account: home.account_number, surname: "Nobody-Here", postcode: home.postcode, email: unmatchedEmail },
  ]) {
    const { context, page, problems } = await openPage(browser);
    await page.goto(`${BASE}/register`);
    await waitForApp(page);
    await page.getByLabel("Rent account number").fill(details.account);
    await page.getByLabel("Surname").fill(details.surname);
    await page.getByLabel("Postcode").fill(details.postcode);
    await page.getByLabel("Email address").fill(details.email);
    await page.getByRole("button", { name: "Ask to register" }).click();
    await page.locator(".confirmation").waitFor();
    confirmations.push((await page.locator("main").innerText()).replace(/\s+/g, " "));
    assertNoProblems(problems, `registering ${details.account}`);
    await context.close();
  }
  assert.equal(confirmations[1], confirmations[0], "matched and unmatched requests read exactly the same");

  const { context, page, problems } = await openPage(browser, { viewport: PHONE });
  await signIn(page, STAFF);
  await page.waitForURL(`${BASE}/staff/registrations`);
  await page.getByLabel("Show").selectOption("unmatched");
  await page.getByRole("button", { name: "Show requests" }).click();
  await page.waitForURL(`${BASE}/staff/registrations?status=unmatched`);
  const row = page.locator("table.queue tbody tr", { hasText: unmatchedEmail });
  await row.waitFor();
  assert.match(await row.innerText(), /No match/);
  assert.equal(await row.getByRole("button", { name: /^Validate/ }).count(), 0, "an unmatched request cannot be validated");

  // Reject it, with a reason, after confirming.
  await row.getByRole("button", { name: /^Reject REG-\d+$/ }).click();
  const dialog = page.locator("dialog.dialog");
  await dialog.waitFor({ state: "visible" });
  await dialog.getByRole("button", { name: "Reject request" }).click();
  await dialog.locator(".field-error", { hasText: "Enter a reason" }).waitFor();
  await dialog.getByLabel("Reason").fill("We could not find a tenancy with these details. Please phone us.");
  await dialog.getByRole("button", { name: "Reject request" }).click();
  await dialog.waitFor({ state: "hidden" });
  await page.locator(".action-status", { hasText: "is rejected" }).waitFor();
  await row.locator(".badge", { hasText: "Rejected" }).waitFor();
  assert.match(await row.innerText(), /We could not find a tenancy with these details/);

  // On a phone the queue is a stack of cards that fits the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the queue fits a phone (overflow ${overflow}px)`);
  assert.equal(await row.evaluate((el) => getComputedStyle(el).display), "block");
  // The matched request from above, validated, goes out in today's print run.
  await page.getByLabel("Show").selectOption("pending");
  await page.getByRole("button", { name: "Show requests" }).click();
  await page.waitForURL(`${BASE}/staff/registrations?status=pending`);
  const pending = page.locator("table.queue tbody tr", { hasText: home.postcode }).filter({ hasNotText: unmatchedEmail });
  await pending.first().getByRole("button", { name: /^Validate REG-\d+$/ }).click();
  await dialog.getByRole("button", { name: "Validate and issue a PIN" }).click();
  await page.locator(".action-status", { hasText: "is validated" }).waitFor();
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download today\u2019s print run (PDF)" }).click();
  const runPath = join(scratch, "print-run.pdf");
  await (await download).saveAs(runPath);
  const run = pinFromLetter(runPath);
  assert.ok(run.text.includes(home.address_line1), "the print run has the letter for the validated request");
  await page.locator(".action-status", { hasText: "print run is downloaded" }).waitFor();
  // Made once: a second run for the same day has nothing left to print, and says so.
  await page.getByRole("link", { name: "Download today\u2019s print run (PDF)" }).click();
  await page.locator(".action-status", { hasText: "no letters waiting" }).waitFor();

  await expectNoAxeViolations(page, "the staff queue on a phone");
  assertNoProblems(without(problems, [[404, "/api/v1/staff/letters/print-run.pdf"]]), "staff queue on a phone");
  await context.close();
});

test("registration field errors sit beside their fields and are read with them", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/register`);
  await waitForApp(page);

  // Nothing filled in: every field says what it needs.
  await page.getByRole("button", { name: "Ask to register" }).click();
  const summary = page.locator(".error-summary");
  await summary.waitFor();
  assert.equal(await summary.getByRole("link").count(), 4);
  assert.match(await describedBy(page, "#surname"), /Enter your surname/);

  // The API's own verdict on a field lands beside it.
  await page.getByLabel("Rent account number").fill("10000001");
  await page.getByLabel("Surname").fill("Smith");
  await page.getByLabel("Postcode").fill("not a postcode");
  await page.getByLabel("Email address").fill(uniqueEmail("typo"));
  await page.getByRole("button", { name: "Ask to register" }).click();
  // Wait for the API's verdict, not the empty-field message still shown from the first try.
  await page.locator("#postcode-error", { hasText: "not a UK postcode" }).waitFor();
  assert.match(await page.locator("#postcode-error").innerText(), /Postcode is not a UK postcode/);
  assert.match(await describedBy(page, "#postcode"), /Postcode is not a UK postcode/);
  assert.equal(await page.locator("#surname").getAttribute("aria-invalid"), null, "only the postcode is wrong now");
  await expectNoAxeViolations(page, "registration errors");

  // Too many requests: how long to wait, and the landlord's phone number meanwhile.
  await page.route("**/api/v1/registrations", (route) =>
    route.fulfill({
      status: 429,
      headers: { "retry-after": "1800" },
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "rate_limited", message: "too many requests", details: { retry_after_secs: 1800 } } }),
    }),
  );
  await page.getByLabel("Postcode").fill("HX1 1AA");
  await page.getByRole("button", { name: "Ask to register" }).click();
  await page.locator(".error-summary", { hasText: "please wait 30 minutes" }).waitFor();
  assert.ok((await page.locator("main").innerText()).includes(shown.contacts.phone), "the landlord's phone is offered");
  assertNoProblems(
    without(problems, [
      [422, "/api/v1/registrations"],
      [429, "/api/v1/registrations"],
    ]),
    "registration errors",
  );
  await context.close();
});

test("keyboard only: a wrong password is explained, then sign in and sign out", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/sign-in`);
  await waitForApp(page);
  await expectNoAxeViolations(page, "/sign-in");

  for (const attempt of ["not-the-password", STAFF.password]) {
    await page.locator("main h1").focus();
    await tabUntil(page, "the email field", () => document.activeElement?.id === "email");
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type(STAFF.email);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "password");
    await page.keyboard.type(attempt);
    await page.keyboard.press("Enter");
    if (attempt !== STAFF.password) {
      await page.locator(".error-summary").waitFor();
      await page.waitForFunction(() => document.activeElement?.matches(".error-summary"));
      assert.match(await page.locator(".error-summary").innerText(), /email address or password is not right/);
    }
  }
  await page.waitForURL(`${BASE}/staff/registrations`);
  await page.waitForFunction(() => document.activeElement?.matches("main h1"));
  assert.equal(await focusedText(page), "Registration requests");

  await tabUntil(page, "the sign-out button", () => document.activeElement?.textContent?.trim() === "Sign out", undefined, {
    key: "Shift+Tab",
  });
  await page.keyboard.press("Enter");
  await page.waitForURL(`${BASE}/`);
  await page.locator("header").getByRole("link", { name: "Sign in" }).waitFor();
  assertNoProblems(without(problems, [[401, "/api/v1/auth/login"]]), "keyboard sign-in");
  await context.close();
});

test("a signed-out visitor to My Place signs in and comes back to it", async () => {
  const { context, page, problems } = await openPage(browser, { viewport: DESKTOP });
  await page.goto(`${BASE}/my-place`);
  await page.waitForURL(`${BASE}/sign-in?next=%2Fmy-place`);
  await page.waitForFunction(() => document.activeElement?.matches("main h1"));
  assert.equal((await page.locator("main h1").innerText()).trim(), "Sign in");
  await page.getByLabel("Email address").fill(STAFF.email);
  await page.getByLabel("Password", { exact: true }).fill(STAFF.password);
  await page.locator("main").getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${BASE}/my-place`);
  // Staff have no home here; the page says so and points to their screens.
  await page.locator("main", { hasText: "My Place is where tenants see their home" }).waitFor();
  await expectNoAxeViolations(page, "/my-place for staff");
  assertNoProblems(problems, "back to My Place");
  await context.close();
});

test("a signed-in page refreshes its access token before it expires, and keeps working", async () => {
  const { context, page, problems } = await openPage(browser);
  // The page's clock, so that a quarter of an hour passes in a moment (the API's clock is real).
  await page.clock.install();
  await signIn(page, STAFF);
  await page.waitForURL(`${BASE}/staff/registrations`);
  await page.locator("table.queue, main .empty").first().waitFor();

  const refreshed = page.waitForResponse((r) => r.url().endsWith("/api/v1/auth/refresh") && r.request().method() === "POST");
  await page.clock.fastForward("14:30");
  assert.equal((await refreshed).status(), 200, "the token is refreshed a minute before it expires");

  // The new token works: load the queue again.
  const listed = page.waitForResponse((r) => r.url().includes("/api/v1/staff/registrations?") && r.status() === 200);
  await page.getByLabel("Show").selectOption("all");
  await page.getByRole("button", { name: "Show requests" }).click();
  await listed;
  await page.locator("table.queue").waitFor();
  assertNoProblems(problems, "token refresh");
  await context.close();
});
