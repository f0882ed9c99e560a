// A real OpenID Connect provider for Doorstep's external sign-in tests: node-oidc-provider
// (OpenID Certified) with one confidential client, PKCE required, an RSA signing key made
// fresh at every start (nothing secret is checked in), a handful of test users, and a
// plain HTML login page that a browser test (or an HTTP client) can fill in.
//
// Environment (all optional except OIDC_REDIRECT_URIS):
//   OIDC_PORT            port to listen on (0, the default, picks a free one)
//   OIDC_HOST            address to listen on (default 127.0.0.1)
//   OIDC_ISSUER          the issuer URL (default http://127.0.0.1:<port>)
//   OIDC_CLIENT_ID       default doorstep-test
//   OIDC_CLIENT_SECRET   default: random, printed on the ready line
//   OIDC_REDIRECT_URIS   the client's exact redirect URIs, comma-separated
//   OIDC_TOKEN_AUTH      client_secret_basic (default) or client_secret_post
//   OIDC_CONFORM         1: ID tokens carry only the protocol claims and email, name come
//                        from userinfo (as many providers do); default 0: also in the ID token
//   OIDC_USERS           JSON array of {username, password, email, email_verified, name} to
//                        use instead of the default users below
//
// Once listening it prints one line of JSON to stdout, which the scripts and tests wait for:
//   {"ready":true,"issuer":"...","port":N,"client_id":"...","client_secret":"..."}
import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

import Provider from "oidc-provider";

const env = process.env;
const host = env.OIDC_HOST ?? "127.0.0.1";
const redirectUris = (env.OIDC_REDIRECT_URIS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
if (redirectUris.length === 0) {
  console.error("OIDC_REDIRECT_URIS must name the client's redirect URIs (comma-separated)");
  process.exit(2);
}
const clientId = env.OIDC_CLIENT_ID ?? "doorstep-test";
const clientSecret = env.OIDC_CLIENT_SECRET ?? randomBytes(24).toString("base64url");
const tokenAuth = env.OIDC_TOKEN_AUTH ?? "client_secret_basic";
const conform = env.OIDC_CONFORM === "1";

/** The people who can sign in. The password is a test fixture, not a secret. */
export const TEST_PASSWORD = "idp test password 1";
const users = env.OIDC_USERS
  ? JSON.parse(env.OIDC_USERS)
  : [
      { username: "tenant", password: TEST_PASSWORD, email: "tenant@idp.example", email_verified: true, name: "Idp Tenant" },
      { username: "other", password: TEST_PASSWORD, email: "other@idp.example", email_verified: true, name: "Other Person" },
      { username: "unverified", password: TEST_PASSWORD, email: "unverified@idp.example", email_verified: false, name: "Not Verified" },
    ];
const byUsername = new Map(users.map((u) => [u.username, u]));

function sameText(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

// A fresh signing key for this run: the relying party must fetch it from the JWKS.
const signingKey = {
  ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
  kid: `test-${randomBytes(6).toString("hex")}`,
  alg: "RS256",
  use: "sig",
};

const server = createServer();
await new Promise((resolve) => server.listen(Number(env.OIDC_PORT ?? 0), host, resolve));
const port = server.address().port;
const issuer = (env.OIDC_ISSUER ?? `http://127.0.0.1:${port}`).replace(/\/$/, "");

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: tokenAuth,
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  conformIdTokenClaims: conform,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const user = byUsername.get(id);
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: user.email_verified, name: user.name };
      },
    };
  },
});
// Plain http on loopback in tests: the provider must not insist on https cookies.
provider.proxy = false;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function loginPage(uid, clientName, { error, username } = {}) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in to Test ID</title><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>Test ID</h1>
<p>Sign in to continue to ${escapeHtml(clientName)}.</p>
${error ? `<p role="alert" id="error">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <p><label for="username">Username</label><br><input id="username" name="username" value="${escapeHtml(username ?? "")}" required></p>
  <p><label for="password">Password</label><br><input id="password" name="password" type="password" required></p>
  <p><button type="submit">Sign in</button></p>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel and go back</a></p>
</main>
</body>
</html>`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error("form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function send(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

/** Grants what the client asked for: a first-party provider that asks no consent question. */
async function grantAll(req, res, details) {
  const { prompt, grantId, session, params } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(" "));
    }
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split("/");
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, "<p>This sign-in has expired.</p>");
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName ?? details.params.client_id;

  if (req.method === "GET" && !action) {
    if (details.prompt.name === "consent") return grantAll(req, res, details);
    if (details.prompt.name !== "login") return send(res, 501, "<p>Not implemented.</p>");
    return send(res, 200, loginPage(uid, clientName));
  }
  if (req.method === "GET" && action === "abort") {
    return provider.interactionFinished(
      req,
      res,
      { error: "access_denied", error_description: "End-User aborted interaction" },
      { mergeWithLastSubmission: false },
    );
  }
  if (req.method === "POST" && action === "login") {
    const form = await readForm(req);
    const username = form.get("username") ?? "";
    const user = byUsername.get(username);
    if (!user || !sameText(form.get("password") ?? "", user.password)) {
      return send(res, 200, loginPage(uid, clientName, { error: "The username or password is not right.", username }));
    }
    return provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, "<p>Not found.</p>");
}

const callback = provider.callback();
server.on("request", (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith("/interaction/")) {
    interaction(req, res, url).catch((err) => {
      console.error("interaction failed:", err);
      if (!res.headersSent) send(res, 400, `<p>${escapeHtml(err.message)}</p>`);
    });
    return;
  }
  callback(req, res);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

console.log(JSON.stringify({ ready: true, issuer, port, client_id: clientId, client_secret: clientSecret }));
