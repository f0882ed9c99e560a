// The single-page app against the real server and its demo data: branding per landlord, the
// landlord switcher, keyboard navigation, the placeholder pages, the sign-in and registration
// forms, 404, accessibility, phones. (The identity journey itself is in identity.test.mjs.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  BASE,
  DESKTOP,
  PHONE,
  api,
  assertNoProblems,
  axeViolations,
  expectBackground,
  focusedText,
  launchBrowser,
  openPage,
  organisations,
  tabUntil,
} from "./helpers.mjs";

let browser;
let all;
let defaultOrg;

before(async () => {
  browser = await launchBrowser();
  all = await organisations();
  // The SPA's rule when nothing is chosen: the first organisation without a parent.
  defaultOrg = all.find((org) => !org.parent_slug) ?? all[0];
  assert.ok(defaultOrg, "the demo data has organisations");
});

after(async () => {
  await browser?.close();
});

async function waitForLandlord(page, org) {
  await page.locator("header .brand-name", { hasText: org.name }).waitFor({ timeout: 10_000 });
}

/**
 * Drops the 404 for `url` and Chrome's matching console line. Any other 404 still shows as its
 * own "HTTP 404: <url>" entry, so nothing else is hidden.
 */
function withoutExpected404(problems, url) {
  return problems.filter(
    (p) => p !== `HTTP 404: ${url}` && !/^console error: Failed to load resource: .*status of 404/.test(p),
  );
}

async function footerText(page) {
  return (await page.locator("footer").innerText()).replace(/\s+/g, " ");
}

test("the home page wears the default landlord's name, colour and contacts", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/`);
  await waitForLandlord(page, defaultOrg);

  assert.equal((await page.locator("header .brand-name").innerText()).trim(), defaultOrg.name);
  await expectBackground(page, "header.site-header", defaultOrg.branding.primary_colour);
  if (defaultOrg.branding.tagline) {
    assert.equal((await page.locator("header .tagline").innerText()).trim(), defaultOrg.branding.tagline);
  }

  // It says what the portal is for, and how to get in.
  const main = page.locator("main");
  assert.equal(await main.locator("h1").count(), 1);
  const text = (await main.innerText()).toLowerCase();
  for (const phrase of ["rent account", "pay your rent", "report a repair", "map"]) {
    assert.ok(text.includes(phrase), `home page mentions "${phrase}"`);
  }
  assert.equal(await main.getByRole("link", { name: "Sign in", exact: true }).getAttribute("href"), "/sign-in");
  assert.equal(await main.getByRole("link", { name: "Register", exact: true }).getAttribute("href"), "/register");

  // The footer has the ways to reach this landlord, including emergency repairs.
  const contacts = defaultOrg.contacts;
  assert.ok(contacts.phone && contacts.emergency_phone, "demo landlord has phone numbers");
  const footer = await footerText(page);
  for (const value of [contacts.phone, contacts.emergency_phone, contacts.email, contacts.opening_hours]) {
    if (value) assert.ok(footer.includes(value), `footer shows ${value}`);
  }
  assert.match(await page.title(), new RegExp(defaultOrg.name));
  assertNoProblems(problems, "home page");
  await context.close();
});

test("?org=calder-riverside shows that landlord, remembers it, and the switcher moves within the group", async () => {
  const calder = await api("/api/v1/organisations/calder-riverside");
  assert.notEqual(calder.branding.primary_colour, defaultOrg.branding.primary_colour, "demo landlords differ");
  const { context, page, problems } = await openPage(browser);

  await page.goto(`${BASE}/?org=calder-riverside`);
  await waitForLandlord(page, calder);
  await expectBackground(page, "header.site-header", calder.branding.primary_colour);
  assert.ok((await footerText(page)).includes(calder.contacts.phone), "footer has Calder's phone");

  // Without ?org= the choice is remembered.
  await page.goto(`${BASE}/my-nearest`);
  await waitForLandlord(page, calder);
  await expectBackground(page, "header.site-header", calder.branding.primary_colour);

  // The switcher lists the whole group and is worked by keyboard.
  const root = calder.parent_slug ?? calder.slug;
  const group = all.filter((org) => org.slug === root || org.parent_slug === root);
  assert.ok(group.length >= 3, "the demo group has a parent and two subsidiaries");
  await page.locator("main h1").focus();
  await tabUntil(page, "the landlord switcher", () => document.activeElement?.tagName === "SUMMARY", undefined, {
    key: "Shift+Tab",
  });
  await page.keyboard.press("Enter");
  const listed = (await page.locator(".switcher-list a").allInnerTexts()).map((t) => t.replace(" (current)", "").trim());
  assert.deepEqual([...listed].sort(), group.map((org) => org.name).sort());

  const target = group.find((org) => org.slug !== calder.slug && org.parent_slug);
  await tabUntil(page, `the link to ${target.name}`, (name) => document.activeElement?.textContent?.trim() === name, target.name);
  await page.keyboard.press("Enter");
  await waitForLandlord(page, target);
  await expectBackground(page, "header.site-header", target.branding.primary_colour);
  const url = new URL(page.url());
  assert.equal(url.pathname, "/my-nearest");
  assert.equal(url.searchParams.get("org"), target.slug);
  assertNoProblems(problems, "switching landlords");
  await context.close();
});

test("an unknown ?org= falls back to the default landlord and says so", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/?org=no-such-landlord`);
  await waitForLandlord(page, defaultOrg);
  const notice = page.locator("main .notice");
  await notice.waitFor();
  assert.match(await notice.innerText(), /no-such-landlord/);
  // The API's 404 for the unknown slug is expected (Chrome logs it too); nothing else may go wrong.
  const unexpected = withoutExpected404(problems, `${BASE}/api/v1/organisations/no-such-landlord`);
  assertNoProblems(unexpected, "unknown landlord");
  await context.close();
});

test("when the API fails the header says so, the page still works, and Try again recovers", async () => {
  const { context, page, problems } = await openPage(browser);
  const organisationsApi = "**/api/v1/organisations**";
  await page.route(organisationsApi, (route) =>
    route.fulfill({
      status: 503,
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "Down for maintenance." } }),
    }),
  );
  await page.goto(`${BASE}/`);
  const alert = page.locator("header [role=alert]");
  await alert.waitFor();
  assert.match(await alert.innerText(), /Down for maintenance\./);
  assert.equal(await page.locator("main h1").count(), 1, "the page still explains the portal");

  await page.unroute(organisationsApi);
  await page.locator("header").getByRole("button", { name: "Try again" }).click();
  await waitForLandlord(page, defaultOrg);
  await expectBackground(page, "header.site-header", defaultOrg.branding.primary_colour);
  assert.equal(await alert.count(), 0);
  // Only the failures this test made up may show.
  const unexpected = problems.filter(
    (p) => !/^HTTP 503: .*\/api\/v1\/organisations/.test(p) && !/^console error: .*status of 503/.test(p),
  );
  assertNoProblems(unexpected, "API failure");
  await context.close();
});

test("skip link, then My Nearest and My Maps by keyboard; My Place asks a signed-out visitor to sign in", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/`);
  await waitForLandlord(page, defaultOrg);

  await page.keyboard.press("Tab");
  assert.equal(await focusedText(page), "Skip to main content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main");

  const sections = [
    ["My Nearest", "/my-nearest", /nearest/i],
    ["My Maps", "/my-maps", /map/i],
  ];
  for (const [name, path, describes] of sections) {
    // From wherever focus is (in main), go back up into the navigation.
    await tabUntil(
      page,
      `the ${name} link`,
      (label) => document.activeElement?.closest("nav") && document.activeElement.textContent.trim() === label,
      name,
      { key: "Shift+Tab" },
    );
    await page.keyboard.press("Enter");
    await page.waitForURL(`${BASE}${path}`);
    const heading = page.locator("main h1");
    assert.equal((await heading.innerText()).trim(), name);
    assert.match(await page.locator("main").innerText(), describes);
    // Focus moves to the new page's heading, as a screen-reader user expects.
    await page.waitForFunction(() => document.activeElement?.matches("main h1"));
    assert.equal(await page.locator(`nav a[aria-current="page"]`).innerText(), name);
    assert.match(await page.title(), new RegExp(`^${name}`));
  }

  // My Place is a signed-in page: a signed-out visitor is sent to sign in, focus on its heading.
  await tabUntil(
    page,
    "the My Place link",
    () => document.activeElement?.closest("nav") && document.activeElement.textContent.trim() === "My Place",
    undefined,
    { key: "Shift+Tab" },
  );
  await page.keyboard.press("Enter");
  await page.waitForURL(`${BASE}/sign-in?next=%2Fmy-place`);
  await page.waitForFunction(() => document.activeElement?.matches("main h1"));
  assert.equal((await page.locator("main h1").innerText()).trim(), "Sign in");
  assertNoProblems(problems, "keyboard navigation");
  await context.close();
});

test("sign-in, register and finish registering are labelled forms", async () => {
  const { context, page, problems } = await openPage(browser);
  for (const [path, heading, fields, button] of [
    ["/sign-in", "Sign in", ["Email address", "Password"], "Sign in"],
    ["/register", "Register", ["Rent account number", "Surname", "Postcode", "Email address"], "Ask to register"],
    [
      "/register/activate",
      "Finish registering",
      ["Rent account number", "PIN", "Email address", "Create a password", "Type the password again"],
      "Finish registering",
    ],
  ]) {
    await page.goto(`${BASE}${path}`);
    await waitForLandlord(page, defaultOrg);
    assert.equal((await page.locator("main h1").innerText()).trim(), heading);
    for (const label of fields) {
      assert.equal(await page.locator("main").getByLabel(label, { exact: true }).count(), 1, `${path}: ${label}`);
    }
    assert.equal(await page.locator("main form").getByRole("button", { name: button, exact: true }).count(), 1);
  }
  // The configured external identity provider is offered, linking to its start route.
  await page.goto(`${BASE}/sign-in`);
  await waitForLandlord(page, defaultOrg);
  const offered = page.locator(".external-sign-in").getByRole("link", { name: "Sign in with Test ID" });
  assert.equal(await offered.getAttribute("href"), "/api/v1/auth/oidc/local/start");
  assertNoProblems(problems, "sign-in pages");
  await context.close();
});

test("an unknown address shows the 404 page, with a way home", async () => {
  const { context, page, problems } = await openPage(browser);
  await page.goto(`${BASE}/no-such-page/here`);
  await waitForLandlord(page, defaultOrg);
  assert.equal((await page.locator("main h1").innerText()).trim(), "Page not found");
  await page.locator("main").getByRole("link", { name: "Go to the home page" }).click();
  await page.waitForURL(`${BASE}/`);
  assert.notEqual((await page.locator("main h1").innerText()).trim(), "Page not found");
  // The server may rightly answer the unknown address itself with 404 (and the SPA inside).
  const unexpected = withoutExpected404(problems, `${BASE}/no-such-page/here`);
  assertNoProblems(unexpected, "404 page");
  await context.close();
});

test("on a phone the page fits the screen and everything is reachable", async () => {
  const { context, page, problems } = await openPage(browser, { viewport: PHONE });
  await page.goto(`${BASE}/`);
  await waitForLandlord(page, defaultOrg);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (overflow ${overflow}px)`);
  for (const name of ["Home", "My Place", "My Nearest", "My Maps"]) {
    assert.ok(await page.locator("nav").getByRole("link", { name, exact: true }).isVisible(), `${name} visible`);
  }
  assert.ok(await page.locator("header").getByRole("link", { name: "Sign in" }).isVisible());
  assertNoProblems(problems, "phone layout");
  await context.close();
});

test("no WCAG 2.2 A/AA violations (axe-core) on the pages, phone and desktop", async () => {
  for (const viewport of [PHONE, DESKTOP]) {
    const { context, page, problems } = await openPage(browser, { viewport });
    for (const path of ["/", "/my-nearest", "/my-maps", "/sign-in", "/register", "/register/activate"]) {
      await page.goto(`${BASE}${path}`);
      await waitForLandlord(page, defaultOrg);
      await page.locator("footer .contacts").waitFor();
      assert.deepEqual(await axeViolations(page), [], `${path} at ${viewport.width}px`);
    }
    assertNoProblems(problems, `axe at ${viewport.width}px`);
    await context.close();
  }
});

test("the page runs under the server's Content-Security-Policy", async () => {
  const response = await fetch(`${BASE}/`);
  const csp = response.headers.get("content-security-policy");
  assert.ok(csp, "the server sends a Content-Security-Policy for the SPA");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
  // Every page above asserted no console errors, which is where CSP violations are reported.
});
