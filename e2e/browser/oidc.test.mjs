// External sign-in in Chromium, against the local OpenID Connect provider that
// scripts/e2e-browser.sh starts beside the portal (scripts/oidc-provider.sh: node-oidc-provider,
// configured in the portal as provider "local", "Test ID"). The provider's issuer is
// http://localhost:<port> and the portal is http://127.0.0.1:<port>: two different sites, as a
// real provider and a landlord's portal are, so the cookies' SameSite rules are tested for real.
//
// The tenant's registration request and staff's validation go through the API (the identity
// tests cover those screens); the PIN comes out of the letter PDF, as a tenant reads it. Then,
// in the browser, the tenant finishes registering with the provider instead of a password
// (filling in the provider's own login page), lands signed in on My Place, signs out, and
// signs in again with the provider.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import {
  BASE,
  DATABASE_URL,
  PHONE,
  accountPanelsLoaded,
  assertNoProblems,
  axeViolations,
  dbRows,
  launchBrowser,
  openPage,
} from "./helpers.mjs";

const STAFF = { email: process.env.DOORSTEP_STAFF_EMAIL, password: process.env.DOORSTEP_STAFF_PASSWORD };
const ISSUER = process.env.DOORSTEP_TEST_OIDC_ISSUER;
const ORG = "pennine-vale-homes";
const PROVIDER = "Test ID";
/** The test users' password in e2e/oidc-provider/server.mjs (a fixture, not a secret). */
const IDP_PASSWORD = "idp test password 1";

let browser;
let scratch;

before(async () => {
  assert.ok(DATABASE_URL, "DOORSTEP_DATABASE_URL names the server's database (run through scripts/e2e-browser.sh)");
  assert.ok(STAFF.email && STAFF.password, "DOORSTEP_STAFF_EMAIL and DOORSTEP_STAFF_PASSWORD are set");
  assert.ok(ISSUER, "DOORSTEP_TEST_OIDC_ISSUER names the local OpenID provider (run through scripts/e2e-browser.sh)");
  browser = await launchBrowser();
  scratch = mkdtempSync(join(tmpdir(), "doorstep-oidc-"));
});

after(async () => {
  await browser?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * A current home tenancy nobody registered for, taken from the end of the list so that it is
 * not one the identity tests (which take from the start) use at the same time.
 */
function tenancy() {
  const rows = dbRows(`
    SELECT ra.account_number, p.title, p.forename, p.surname, pr.address_line1, pr.postcode
    FROM rent_account ra
    JOIN tenancy t ON t.id = ra.tenancy_id
    JOIN organisation o ON o.id = t.organisation_id
    JOIN tenancy_member tm ON tm.tenancy_id = t.id AND tm.role = 'lead'
    JOIN person p ON p.id = tm.person_id
    JOIN property pr ON pr.id = t.property_id
    WHERE o.slug = '${ORG}' AND ra.kind = 'rent' AND ra.closed_on IS NULL AND t.end_date IS NULL
      AND pr.kind = 'home' AND pr.housing_officer_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM registration r WHERE r.account_number = ra.account_number)
      AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.person_id = p.id)
    ORDER BY ra.id DESC LIMIT 1`);
  assert.equal(rows.length, 1, "the demo data has a tenancy to register for");
  return rows[0];
}

async function call(method, path, { body, token } = {}) {
  const headers = { accept: "application/json" };
  if (body) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${BASE}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
}

/** Register (as the tenant would), validate (as staff), and read the PIN from the letter. */
async function validatedWithPin(home) {
  let r = await call("POST", "/api/v1/registrations", {
    body: {
      account_number: home.account_number,
      surname: home.surname,
      postcode: home.postcode,
      email: `oidc.${Date.now().toString(36)}@example.com`,
    },
  });
  assert.equal(r.status, 202, "registration request");
  r = await call("POST", "/api/v1/auth/login", { body: { ...STAFF, client: "app" } });
  assert.equal(r.status, 200, "staff sign-in");
  const { access_token: token } = await r.json();
  r = await call("GET", "/api/v1/staff/registrations?status=pending&limit=100", { token });
  const request = (await r.json()).items.find((i) => i.submitted.account_number === home.account_number);
  assert.ok(request, "staff see the request");
  r = await call("POST", `/api/v1/staff/registrations/${request.id}/validate`, { token });
  assert.equal(r.status, 200, "validated");
  r = await call("GET", `/api/v1/staff/registrations/${request.id}/letter.pdf`, { token });
  assert.equal(r.status, 200, "the letter");
  const pdf = join(scratch, `letter-${request.id}.pdf`);
  writeFileSync(pdf, Buffer.from(await r.arrayBuffer()));
  const text = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  const match = /Your PIN:\s*([2-9A-HJ-NP-Z]{5} [2-9A-HJ-NP-Z]{5})/.exec(text);
  assert.ok(match, `the letter shows a PIN:\n${text}`);
  return match[1];
}

async function waitForApp(page) {
  await page.locator("header .brand-name a").first().waitFor({ timeout: 10_000 });
}

/** On the provider's own login page (another site): who signs in. */
async function signInAtProvider(page, username) {
  await page.waitForURL((url) => url.href.startsWith(`${ISSUER}/interaction/`));
  assert.equal(await page.locator("h1").innerText(), "Test ID");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(IDP_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function expectNoAxeViolations(page, where) {
  assert.deepEqual(await axeViolations(page), [], `axe on ${where}`);
}

test("a tenant finishes registering with the provider instead of a password, then signs in with it", async () => {
  const home = tenancy();
  const pin = await validatedWithPin(home);

  // 1. Finish registering: choose the provider instead of a password.
  const tenant = await openPage(browser, { viewport: PHONE });
  const { page } = tenant;
  await page.goto(`${BASE}/register/activate`);
  await waitForApp(page);
  const use = page.getByRole("link", { name: `Use ${PROVIDER} instead of a password` });
  await use.waitFor();
  assert.equal(await use.getAttribute("href"), "/api/v1/auth/oidc/local/start?intent=register");
  await expectNoAxeViolations(page, "/register/activate with a provider");
  await use.click();

  // 2. The provider's page, on the provider's site.
  await signInAtProvider(page, "tenant");

  // 3. Back on the portal: the identity waits for the PIN; no password is asked for.
  await page.waitForURL(`${BASE}/register/activate?oidc=linked`);
  const notice = page.locator(".notice", { hasText: `You have signed in with ${PROVIDER} as tenant@idp.example` });
  await notice.waitFor();
  assert.equal(await page.getByLabel("Create a password").count(), 0, "no password to choose");
  assert.equal(await page.getByLabel("Email address").inputValue(), "tenant@idp.example", "the confirmed address");
  await expectNoAxeViolations(page, "finishing with a provider");
  await page.getByLabel("Rent account number").fill(home.account_number);
  await page.getByLabel("PIN", { exact: true }).fill(pin);
  await page.getByRole("button", { name: "Finish registering" }).click();

  // 4. Registered and signed in: My Place, with the tenant's own name and home.
  await page.waitForURL(`${BASE}/my-place`);
  await page.locator("main .greeting").waitFor();
  await accountPanelsLoaded(page);
  assert.equal((await page.locator("main .greeting").innerText()).trim(), `Hello, ${home.forename}.`);
  const fullName = [home.title, home.forename, home.surname].filter(Boolean).join(" ");
  assert.equal((await page.locator("header .signed-in-name").innerText()).trim(), fullName);
  // One address per tenancy (a tenant may rent a garage too): the home's is among them.
  await page.locator("main .home-address", { hasText: home.address_line1 }).waitFor();
  // The cookies as the auth endpoints see them (they are scoped to those paths).
  const cookies = await tenant.context.cookies(`${BASE}/api/v1/auth/oidc/pending`);
  const refresh = cookies.find((c) => c.name === "doorstep_refresh");
  assert.ok(refresh?.value && refresh.httpOnly && refresh.sameSite === "Strict", "the refresh token: HttpOnly, Strict");
  assert.ok(!cookies.some((c) => c.name === "doorstep_oidc_link" && c.value), "the pending link is used up");
  assert.ok(!cookies.some((c) => c.name === "doorstep_oidc" && c.value), "the flow's binding cookie is cleared");
  assert.equal(
    await page.evaluate(() => Object.values(localStorage).filter((v) => v.length > 20).length),
    0,
    "no token in local storage",
  );

  // 5. Sign out.
  await page.locator("header").getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${BASE}/`);
  assertNoProblems(tenant.problems, "finishing registering with the provider");
  await tenant.context.close();

  // 6. Another day, another browser: sign in with the provider, filling in its login page.
  const later = await openPage(browser);
  await later.page.goto(`${BASE}/sign-in`);
  await waitForApp(later.page);
  const button = later.page.getByRole("link", { name: `Sign in with ${PROVIDER}` });
  assert.equal(await button.getAttribute("href"), "/api/v1/auth/oidc/local/start");
  await expectNoAxeViolations(later.page, "/sign-in with a provider");
  await button.click();
  await signInAtProvider(later.page, "tenant");
  await later.page.waitForURL(`${BASE}/my-place`);
  await later.page.locator("main .greeting").waitFor();
  await accountPanelsLoaded(later.page);
  assert.equal((await later.page.locator("main .greeting").innerText()).trim(), `Hello, ${home.forename}.`);
  // A reload keeps the sign-in: the session refreshes from the cookie the callback set.
  await later.page.reload();
  await later.page.locator("main .greeting").waitFor();
  await accountPanelsLoaded(later.page);
  assertNoProblems(later.problems, "signing in with the provider");
  await later.context.close();
});

test("an identity nobody linked is told to register first", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/sign-in`);
  await waitForApp(page);
  await page.getByRole("link", { name: `Sign in with ${PROVIDER}` }).click();
  await signInAtProvider(page, "other");
  await page.waitForURL(`${BASE}/sign-in?error=not_linked&provider=local`);
  // The provider's name arrives with the provider list, after the message first shows.
  const alert = page.locator(".external-sign-in-error", { hasText: `Signing in with ${PROVIDER} did not work` });
  await alert.waitFor();
  await page.waitForFunction(() => document.activeElement?.matches(".external-sign-in-error"));
  const words = await alert.innerText();
  assert.match(words, /Signing in with Test ID did not work/);
  assert.match(words, /not linked to an account here yet: register first/);
  assert.equal(await alert.getByRole("link", { name: "Ask to register" }).getAttribute("href"), "/register");
  assert.equal(await page.locator("header .signed-in").count(), 0, "not signed in");
  const cookies = await context.cookies(`${BASE}/api/v1/auth/refresh`);
  assert.ok(!cookies.some((c) => c.name === "doorstep_refresh" && c.value), "no refresh cookie");
  await expectNoAxeViolations(page, "a sign-in that is not linked");
  assertNoProblems(problems, "an identity nobody linked");
  await context.close();
});
