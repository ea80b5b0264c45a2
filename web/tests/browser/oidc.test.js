// "Sign in with …" through a real OpenID Connect provider, in headless
// Chromium: oidc-provider (OpenID Certified; oidc-provider.js) on
// localhost, `gas dev` (embedded backend) on 127.0.0.1 with GAS_OIDC_*
// pointing at it — two origins and two cookie jars, as with a real
// provider. The first sign-in (the provider's login form, then its consent
// prompt) makes a free account from the verified email; signing out and in
// again through the provider (its session still alive: no form), and again
// from a fresh browser (login form and consent again), finds the same
// account. A made-up or tampered callback, and a sign-in cancelled at the
// provider, show the "Sign-in failed" page (401) and start no session.
//
// Run by scripts/browser-test.sh. Environment: BROWSER_SCREENSHOTS (default
// target/browser-screenshots; this test writes to its oidc/), GAS_BIN,
// BROWSER_OIDC=0 (skip this test). OIDC_CONFORM_ID_TOKEN_CLAIMS=1 makes the
// provider keep the email out of the ID token (userinfo only), as a
// spec-conformant provider may; GAS then refuses the first sign-in.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const { startGas, startOidcProvider, freePort, tail, REPO } = require("./services");
const { CHROMIUM, CHROMIUM_ARGS, bounded } = require("./chromium");

const SHOTS = process.env.BROWSER_SCREENSHOTS || path.join(REPO, "target", "browser-screenshots");
/// Bound of one step (a wait that runs out fails the step with both logs).
const STEP_MS = 60_000;
const CLIENT_ID = "gas-browser-test";
const PROVIDER_NAME = "Test Identity";
const EMAIL_DOMAIN = "oidc.example.org";
const SESSION_COOKIE = "gas_session";

/// Numbered steps over one or more browser contexts, each screenshotted
/// into target/browser-screenshots/oidc/; script errors on any page fail
/// the test at the end.
class Run {
  constructor(gas, op) {
    this.gas = gas;
    this.op = op;
    this.n = 0;
    this.current = "";
    this.page = null;
    this.pageErrors = [];
    this.dir = path.join(SHOTS, "oidc");
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
  }

  log(msg) {
    console.log(`[oidc] ${msg}`);
  }

  /// A page in a new context (its own cookies), watched for script errors
  /// and for its main-frame navigation requests (redirects included).
  async newPage(browser, label) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    page.navRequests = [];
    page.on("request", (r) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) page.navRequests.push(r.url());
    });
    page.on("pageerror", (e) => this.pageErrors.push(`${label} ${this.current}: ${e.message}`));
    page.on("console", (m) => {
      // The provider's pages are not under test; GAS's are. The refused
      // callbacks are 401 documents on purpose (Chromium logs each).
      const expected401 =
        /^Failed to load resource: .* 401 /.test(m.text()) && (m.location().url || "").startsWith(this.gas.baseUrl + "/login/callback");
      if (m.type() === "error" && page.url().startsWith(this.gas.baseUrl) && !expected401) {
        this.pageErrors.push(`${label} ${this.current}: console: ${m.text()}`);
      }
    });
    return page;
  }

  async shot(suffix = "") {
    const file = path.join(this.dir, `${this.current}${suffix ? "-" + suffix : ""}.png`);
    try {
      await this.page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    } catch (e) {
      this.log(`screenshot ${file} failed: ${e.message}`);
    }
  }

  /// One step on `page`: bounded, screenshotted after (or on failure).
  async step(page, name, fn, ms = STEP_MS) {
    this.page = page;
    this.n += 1;
    this.current = `${String(this.n).padStart(2, "0")}-${name}`;
    const started = Date.now();
    this.log(`step ${this.current}`);
    try {
      await bounded(fn(), ms, `step ${this.current}`);
    } catch (e) {
      await this.shot("FAILED");
      e.message =
        `[oidc] step ${this.current} failed (page ${page.url()}): ${e.message}\n` +
        `--- gas log tail (${this.gas.logFile}) ---\n${tail(this.gas.logFile)}\n` +
        `--- provider log tail (${this.op.logFile}) ---\n${tail(this.op.logFile, 20)}`;
      throw e;
    }
    await this.shot();
    this.log(`  ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  gasUrl(p) {
    return this.gas.baseUrl + p;
  }

  /// Does `action` and waits until the browser is back from the provider:
  /// signed in at `landing`, or stopped at /login/callback (a refusal,
  /// whose message then fails the step at once rather than after a
  /// timeout), or sent off somewhere else (fails too).
  async backAtGas(page, action, landing = "/annotations") {
    const gas = this.gas.baseUrl;
    const done = (u) => {
      if (u.href.startsWith(this.op.issuer)) return false;
      if (!u.href.startsWith(gas)) return true;
      return u.pathname === landing || u.pathname === "/login/callback";
    };
    await Promise.all([page.waitForURL(done), action()]);
    const url = new URL(page.url());
    assert.ok(page.url().startsWith(gas), `the browser was sent off GAS, to ${page.url()}`);
    if (url.pathname !== landing) {
      const text = (await page.textContent("main")).replace(/\s+/g, " ").trim();
      assert.fail(`GAS did not sign the browser in: ${page.url()} shows "${text}"`);
    }
  }

  /// The GAS session cookie the page's context holds, if any.
  async sessionCookie(page) {
    const cookies = await page.context().cookies(this.gas.baseUrl);
    return cookies.find((c) => c.name === SESSION_COOKIE && c.value !== "") || null;
  }
}

/// The authorization request GAS sent the browser to (the first
/// navigation to the provider's /auth), as a URL.
function authorizationRequest(page, issuer) {
  const url = page.navRequests.find((u) => u.startsWith(`${issuer}/auth?`));
  assert.ok(url, `the browser went to ${issuer}/auth (navigations: ${page.navRequests.join(" → ")})`);
  return new URL(url);
}

/// The parts of an authorization request that GAS must get right.
function checkAuthorizationRequest(req, redirectUri) {
  const q = req.searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("client_id"), CLIENT_ID);
  assert.equal(q.get("redirect_uri"), redirectUri);
  const scopes = (q.get("scope") || "").split(" ");
  assert.ok(scopes.includes("openid") && scopes.includes("email"), `scope asks for openid and email (${q.get("scope")})`);
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.match(q.get("code_challenge") || "", /^[A-Za-z0-9_-]{43}$/, "a S256 code challenge");
  assert.ok((q.get("state") || "").length >= 32, "a state of at least 32 characters");
  assert.ok((q.get("nonce") || "").length >= 32, "a nonce of at least 32 characters");
}

/// Set-Cookie headers of a response that start a GAS session.
async function sessionSetCookies(response) {
  return (await response.headersArray())
    .filter((h) => h.name.toLowerCase() === "set-cookie")
    .map((h) => h.value)
    .filter((v) => v.startsWith(`${SESSION_COOKIE}=`) && !v.startsWith(`${SESSION_COOKIE}=;`));
}

async function runOidc() {
  const clientSecret = crypto.randomBytes(24).toString("base64url");
  const opPort = await freePort();
  // localhost for the provider, 127.0.0.1 for GAS: another site, as a real
  // provider is, so the callback runs on GAS's SameSite=Lax cookies alone.
  const issuer = `http://localhost:${opPort}`;
  const gas = await startGas("embedded", {
    env: {
      GAS_OIDC_ISSUER: issuer,
      GAS_OIDC_CLIENT_ID: CLIENT_ID,
      GAS_OIDC_CLIENT_SECRET: clientSecret,
      GAS_OIDC_NAME: PROVIDER_NAME,
    },
  });
  const redirectUri = `${gas.baseUrl}/login/callback`;
  let op;
  let browser;
  let passed = false;
  try {
    op = await startOidcProvider({
      port: opPort,
      issuer,
      clientId: CLIENT_ID,
      clientSecret,
      redirectUri,
      emailDomain: EMAIL_DOMAIN,
      logFile: path.join(gas.dataDir, "oidc-provider.log"),
    });
    console.log(`[oidc] gas at ${gas.baseUrl} (data ${gas.dataDir}), provider at ${issuer}`);
    browser = await bounded(
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true }),
      STEP_MS,
      "launching Chromium",
    );
    const run = new Run(gas, op);
    await steps(run, browser, issuer, redirectUri);
    console.log(`[oidc] screenshots in ${run.dir}`);
    assert.deepEqual(run.pageErrors, [], `[oidc] script or console errors:\n  ${run.pageErrors.join("\n  ")}`);
    passed = true;
  } finally {
    if (browser) await bounded(browser.close(), 15_000, "closing Chromium").catch(() => {});
    if (op) await op.stop();
    await gas.stop();
    // A failed run keeps its data, the service log and the provider's log.
    if (passed) fs.rmSync(gas.dataDir, { recursive: true, force: true });
    else console.log(`[oidc] kept ${gas.dataDir} (gas.log, oidc-provider.log)`);
  }
}

async function steps(run, browser, issuer, redirectUri) {
  const login = `oidc-${Date.now().toString(36)}-${crypto.randomBytes(3).toString("hex")}`;
  const email = `${login}@${EMAIL_DOMAIN}`;
  const page = await run.newPage(browser, "first browser");
  let memberSince = "";
  let userId = "";
  let firstToken = "";
  const TOKEN_NAME = "first provider session";

  await run.step(page, "login-page", async () => {
    const r = await page.goto(run.gasUrl("/login"));
    assert.equal(r.status(), 200);
    const button = page.locator("a#provider-oidc");
    await button.waitFor();
    assert.equal((await button.textContent()).trim(), `Sign in with ${PROVIDER_NAME}`, "the button names GAS_OIDC_NAME");
    assert.equal(await button.getAttribute("href"), "/login/oidc/oidc");
    assert.equal(await run.sessionCookie(page), null, "no session yet");
  });

  await run.step(page, "provider-login-form", async () => {
    page.navRequests = [];
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`)), page.click("a#provider-oidc")]);
    await page.locator('input[name="login"]').waitFor();
    const req = authorizationRequest(page, issuer);
    checkAuthorizationRequest(req, redirectUri);
    run.log(`  authorization request: ${req.origin}${req.pathname} scope=${req.searchParams.get("scope")}`);
    run.log(`  navigations: ${page.navRequests.map((u) => u.split("?")[0]).join(" → ")}`);
    assert.ok(page.navRequests[0].startsWith(run.gasUrl("/login/oidc/oidc")), "the button went through GAS's /login/oidc/oidc");
  });

  await run.step(page, "provider-consent", async () => {
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', "any password will do");
    await run.shot("filled");
    await Promise.all([page.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached" }), page.click('button[type="submit"]')]);
    const text = await page.textContent("body");
    assert.match(text, /\bemail\b/, "the consent prompt names the email scope or claim");
  });

  await run.step(page, "signed-in", async () => {
    page.navRequests = [];
    await run.backAtGas(page, () => page.click('button[type="submit"]'));
    run.log(`  navigations: ${page.navRequests.map((u) => u.split("?")[0]).join(" → ")}`);
    const callback = page.navRequests.find((u) => u.startsWith(`${redirectUri}?`));
    assert.ok(callback, "the provider sent the browser to GAS's /login/callback");
    const cb = new URL(callback).searchParams;
    assert.ok(cb.get("code"), "with a code");
    assert.ok(cb.get("state"), "and the state");
    await page.locator("#logout").waitFor();
    assert.equal(await page.locator(`a[title="${email}"]`).count(), 1, "the nav names the provider's email");
    assert.ok(await run.sessionCookie(page), "a session cookie");
  });

  await run.step(page, "profile-new-account", async () => {
    const r = await page.goto(run.gasUrl("/profile"));
    assert.equal(r.status(), 200);
    assert.equal((await page.textContent("#email")).trim(), email, "#email is the provider's email");
    assert.match((await page.textContent("#plan")).trim(), /^Free\b/, "#plan is Free");
    memberSince = await page.locator("dl.facts div", { hasText: "Member since" }).locator("time").getAttribute("datetime");
    run.log(`  member since ${memberSince}`);
    assert.ok(memberSince, "the profile shows when the account was made");
    // Something of this account's to find again: an API token.
    await page.fill("#token-name", TOKEN_NAME);
    await page.click('form:has(#token-name) button[type="submit"]');
    await page.locator("#new-token").waitFor();
    firstToken = (await page.textContent("#new-token")).trim();
    const me = await (await fetch(run.gasUrl("/api/v1/me"), { headers: { Authorization: `Bearer ${firstToken}` } })).json();
    run.log(`  /api/v1/me: ${JSON.stringify(me)}`);
    assert.equal(me.email, email);
    assert.equal(me.role.toString().toLowerCase(), "free");
    userId = me.user_id;
    assert.ok(userId, "a user id");
  });

  await run.step(page, "sign-out", async () => {
    await Promise.all([page.waitForNavigation(), page.click("#logout")]);
    assert.equal(await page.locator("#logout").count(), 0, "signed out");
    assert.equal(await run.sessionCookie(page), null, "the session cookie is gone");
    const r = await page.request.get(run.gasUrl("/profile"), { maxRedirects: 0 });
    assert.ok([302, 303, 307].includes(r.status()), `a signed-out /profile is sent away (${r.status()})`);
  });

  await run.step(page, "sign-in-again", async () => {
    // Sent to sign in on the way to /profile: the sign-in returns there.
    const r = await page.goto(run.gasUrl("/login?next=%2Fprofile"));
    assert.equal(r.status(), 200);
    const href = new URL(await page.getAttribute("a#provider-oidc", "href"), run.gas.baseUrl);
    assert.equal(href.pathname, "/login/oidc/oidc");
    assert.equal(href.searchParams.get("next"), "/profile", "the button carries next");
    page.navRequests = [];
    // The provider still has this browser's session and grant: it answers
    // at once, without its forms.
    await run.backAtGas(page, () => page.click("a#provider-oidc"), "/profile");
    run.log(`  navigations: ${page.navRequests.map((u) => u.split("?")[0]).join(" → ")}`);
    checkAuthorizationRequest(authorizationRequest(page, issuer), redirectUri);
    assert.ok(page.navRequests.some((u) => u.startsWith(`${redirectUri}?`)), "through GAS's callback");
    await page.locator("#logout").waitFor();
  });

  const sameAccount = async (p) => {
    const r = await p.goto(run.gasUrl("/profile"));
    assert.equal(r.status(), 200);
    assert.equal((await p.textContent("#email")).trim(), email);
    assert.match((await p.textContent("#plan")).trim(), /^Free\b/);
    const since = await p.locator("dl.facts div", { hasText: "Member since" }).locator("time").getAttribute("datetime");
    assert.equal(since, memberSince, "the same member-since: the same account");
    const names = (await p.locator("table.tokens tbody td:first-child").allTextContents()).map((s) => s.trim());
    assert.deepEqual(names, [TOKEN_NAME], "the token made in the first session, and no other");
  };

  await run.step(page, "profile-same-account", async () => {
    await sameAccount(page);
  });

  // A fresh browser: no session at GAS nor at the provider.
  const fresh = await run.newPage(browser, "second browser");

  await run.step(fresh, "fresh-browser-provider-login", async () => {
    // With a `next` off GAS, which the sign-in must not follow.
    await fresh.goto(run.gasUrl(`/login?next=${encodeURIComponent("https://evil.example/")}`));
    fresh.navRequests = [];
    await Promise.all([fresh.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`)), fresh.click("a#provider-oidc")]);
    await fresh.locator('input[name="login"]').waitFor();
    checkAuthorizationRequest(authorizationRequest(fresh, issuer), redirectUri);
    await fresh.fill('input[name="login"]', login);
    await fresh.fill('input[name="password"]', "another password, also fine");
  });

  await run.step(fresh, "fresh-browser-consent", async () => {
    await Promise.all([fresh.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached" }), fresh.click('button[type="submit"]')]);
  });

  await run.step(fresh, "fresh-browser-signed-in", async () => {
    await run.backAtGas(fresh, () => fresh.click('button[type="submit"]'));
    await fresh.locator("#logout").waitFor();
    await sameAccount(fresh);
    // And by the API: a token made now belongs to the same user id.
    await fresh.fill("#token-name", "second browser");
    await fresh.click('form:has(#token-name) button[type="submit"]');
    await fresh.locator("#new-token").waitFor();
    const token = (await fresh.textContent("#new-token")).trim();
    const me = await (await fetch(run.gasUrl("/api/v1/me"), { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.equal(me.user_id, userId, "the same user id");
  });

  // Made-up and tampered callbacks, in yet another fresh browser.
  const stranger = await run.newPage(browser, "third browser");
  const refused = async (p, url, message) => {
    const r = await p.goto(url);
    assert.ok(r, `no response for ${url}`);
    assert.equal(r.status(), 401, `${url} answered ${r.status()}`);
    assert.equal((await p.textContent("h1")).trim(), "Sign-in failed");
    const text = (await p.textContent("main")).replace(/\s+/g, " ");
    run.log(`  ${r.status()}: ${text.trim().slice(0, 160)}`);
    assert.match(text, message);
    assert.deepEqual(await sessionSetCookies(r), [], "the answer sets no session cookie");
    assert.equal(await run.sessionCookie(p), null, "the browser holds no session cookie");
    assert.equal(await p.locator("#logout").count(), 0, "nobody is signed in");
    const profile = await p.request.get(run.gasUrl("/profile"), { maxRedirects: 0 });
    assert.ok([302, 303, 307].includes(profile.status()), `and /profile sends the browser away (${profile.status()})`);
  };

  await run.step(stranger, "made-up-callback", async () => {
    await refused(stranger, run.gasUrl("/login/callback?code=bogus&state=bogus"), /expired or was started elsewhere/);
  });

  await run.step(stranger, "tampered-state", async () => {
    // A sign-in really started (GAS's sealed cookie is set), then a
    // callback whose state is not that sign-in's.
    await Promise.all([stranger.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`)), stranger.goto(run.gasUrl("/login/oidc/oidc"))]);
    await refused(stranger, run.gasUrl("/login/callback?code=bogus&state=bogus"), /does not match/);
  });

  await run.step(stranger, "tampered-code", async () => {
    // The right state, a made-up code: the provider refuses to exchange it.
    stranger.navRequests = [];
    await Promise.all([stranger.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`)), stranger.goto(run.gasUrl("/login/oidc/oidc"))]);
    const state = authorizationRequest(stranger, issuer).searchParams.get("state");
    await refused(
      stranger,
      run.gasUrl(`/login/callback?code=bogus&state=${encodeURIComponent(state)}`),
      /could not be verified/,
    );
    const log = fs.readFileSync(run.gas.logFile, "utf8");
    assert.match(log, /provider sign-in refused/, "GAS logs the refused exchange");
  });

  await run.step(stranger, "cancelled-at-provider", async () => {
    // "[ Cancel ]" on the provider's login form: it sends
    // error=access_denied back.
    await stranger.goto(run.gasUrl("/login"));
    await Promise.all([stranger.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`)), stranger.click("a#provider-oidc")]);
    await run.shot("provider-login-form");
    const [r] = await Promise.all([
      stranger.waitForResponse((resp) => resp.url().startsWith(`${redirectUri}?`)),
      stranger.click('a[href$="/abort"]'),
    ]);
    await stranger.waitForLoadState("load");
    assert.ok(stranger.url().startsWith(`${redirectUri}?`), `the provider sent the browser back to GAS (${stranger.url()})`);
    assert.equal(new URL(stranger.url()).searchParams.get("error"), "access_denied");
    assert.equal(r.status(), 401);
    assert.equal((await stranger.textContent("h1")).trim(), "Sign-in failed");
    assert.match(await stranger.textContent("main"), /cancelled or refused at the provider/);
    assert.deepEqual(await sessionSetCookies(r), []);
    assert.equal(await run.sessionCookie(stranger), null, "no session cookie");
  });
}

const skip = process.env.BROWSER_OIDC === "0" ? "BROWSER_OIDC=0" : false;
test("oidc: sign in through a real OpenID provider (oidc-provider), again, and refused callbacks", { skip, timeout: 10 * 60_000 }, () =>
  runOidc(),
);
