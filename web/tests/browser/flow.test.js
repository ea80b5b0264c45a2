// The web app as people use it, in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core; no browser is downloaded), on
// each backend: sign up, the plan's upload limit, an upload (on AWS through
// the presigned POST to moto's S3), the live job page (no reload from queued
// to completed, to the end of the free window), charts, downloads, the
// upgrade and the restore, the log, the job list, the variant table (its
// upgrade offer after the window, "restoring" and back by itself; then,
// updated in place by its script, a filter, the next page, a sort, the back
// button and the previous link, the exports; and the same page without a
// script at a phone's width), the profile and its API token, sign-out and
// sign-in.
//
// Run by scripts/browser-test.sh, which installs what is missing, builds
// target/debug/gas, starts moto for the aws flow and prints the totals.
// Environment: GAS_TEST_AWS_ENDPOINT (moto's URL, for aws), BROWSER_BACKENDS
// ("embedded aws" by default), BROWSER_SCREENSHOTS (default
// target/browser-screenshots), GAS_BIN (default target/debug/gas).
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const { startGas, tail, sleep, REPO } = require("./services");
const { CHROMIUM, CHROMIUM_ARGS, bounded } = require("./chromium");

const SAMPLES = path.join(REPO, "docs", "samples");
const SHOTS = process.env.BROWSER_SCREENSHOTS || path.join(REPO, "target", "browser-screenshots");
/// The free download window the services run with, seconds.
const WINDOW_SECS = 10;
/// Bound of one step (a wait that runs out fails the step with the service log).
const STEP_MS = 60_000;
const SELECTED = (process.env.BROWSER_BACKENDS || "embedded aws").split(/[\s,]+/).filter(Boolean);

const sha256 = (bytes) => crypto.createHash("sha256").update(bytes).digest("hex");

/// One backend's run: numbered steps, each screenshotted; page problems
/// that do not stop the flow are collected and fail the test at the end.
class Flow {
  constructor(backend, page, gas) {
    this.backend = backend;
    this.page = page;
    this.gas = gas;
    this.n = 0;
    this.current = "";
    this.problems = [];
    this.dir = path.join(SHOTS, backend);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    // Main-frame navigations (reloads, redirects, link clicks), counted
    // from the moment a live page is reached.
    this.navigations = [];
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) this.navigations.push(frame.url());
    });
    // Every navigation request of the main frame, redirects included.
    this.navRequests = [];
    page.on("request", (r) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) this.navRequests.push(`${r.method()} ${r.url()}`);
    });
    this.pageErrors = [];
    page.on("pageerror", (e) => this.pageErrors.push(`${this.current}: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") this.pageErrors.push(`${this.current}: console: ${m.text()}`);
    });
  }

  log(msg) {
    console.log(`[${this.backend}] ${msg}`);
  }

  problem(msg) {
    this.log(`PAGE PROBLEM: ${msg}`);
    this.problems.push(`${this.current}: ${msg}`);
  }

  async shot(suffix = "") {
    const file = path.join(this.dir, `${this.current}${suffix ? "-" + suffix : ""}.png`);
    try {
      await this.page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    } catch (e) {
      this.log(`screenshot ${file} failed: ${e.message}`);
    }
    return file;
  }

  async step(name, fn, ms = STEP_MS) {
    this.n += 1;
    this.current = `${String(this.n).padStart(2, "0")}-${name}`;
    const started = Date.now();
    this.log(`step ${this.current}`);
    try {
      await bounded(fn(), ms, `step ${this.current}`);
    } catch (e) {
      await this.shot("FAILED");
      e.message =
        `[${this.backend}] step ${this.current} failed (page ${this.page.url()}): ${e.message}\n` +
        `--- service log tail (${this.gas.logFile}) ---\n${tail(this.gas.logFile)}`;
      throw e;
    }
    await this.shot();
    this.log(`  ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  url(p) {
    return this.gas.baseUrl + p;
  }

  async goto(p) {
    const response = await this.page.goto(this.url(p), { waitUntil: "load" });
    assert.ok(response, `no response for ${p}`);
    assert.equal(response.status(), 200, `GET ${p} answered ${response.status()}`);
    return response;
  }

  /// The live job panel as it stands now (null while it is being swapped).
  panel() {
    return this.page.evaluate(() => {
      const p = document.getElementById("job-panel");
      if (!p) return null;
      const text = (id) => {
        const el = document.getElementById(id);
        return el ? el.textContent.trim() : null;
      };
      return {
        phase: p.getAttribute("data-phase"),
        status: text("job-status"),
        download: document.querySelector("a#download") ? document.querySelector("a#download").getAttribute("href") : null,
        countdown: text("countdown"),
        upgrade: !!document.getElementById("upgrade-notice"),
        restoring: !!document.getElementById("restoring-notice"),
        logLink: document.querySelector("a#log-link") ? document.querySelector("a#log-link").getAttribute("href") : null,
      };
    });
  }

  /// Polls the panel until `done(panel)` (each distinct panel state is
  /// reported to `seen`), bounded by `ms`.
  async watchPanel(done, seen, ms, what) {
    const deadline = Date.now() + ms;
    let last = "";
    for (;;) {
      const p = await this.panel();
      if (p) {
        const key = `${p.phase}/${p.status}`;
        if (key !== last) {
          last = key;
          this.log(`  panel: phase=${p.phase} status=${p.status}`);
          if (seen) await seen(p);
        }
        if (done(p)) return p;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${ms / 1000} s (last panel ${JSON.stringify(p)})`);
      await sleep(100);
    }
  }

  /// Clicks #download and reads what the browser saved.
  async download(tag) {
    const page = this.page;
    const href = await page.getAttribute("a#download", "href");
    const [dl] = await Promise.all([page.waitForEvent("download", { timeout: STEP_MS }), page.click("a#download")]);
    const failure = await dl.failure();
    assert.equal(failure, null, `the download failed: ${failure}`);
    const saved = path.join(this.gas.dataDir, `download-${tag}-${dl.suggestedFilename()}`);
    await dl.saveAs(saved);
    const bytes = fs.readFileSync(saved);
    this.log(`  downloaded ${dl.suggestedFilename()} (${bytes.length} bytes) from ${href} via ${dl.url().slice(0, 120)}`);
    return { bytes, name: dl.suggestedFilename(), url: dl.url() };
  }
}

async function runFlow(backend) {
  const awsEndpoint = process.env.GAS_TEST_AWS_ENDPOINT;
  if (backend === "aws" && !awsEndpoint) {
    throw new Error("GAS_TEST_AWS_ENDPOINT is not set: start moto with scripts/moto.sh (scripts/browser-test.sh does)");
  }
  if (backend === "aws") {
    const alive = await fetch(`${awsEndpoint}/moto-api/`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.ok)
      .catch(() => false);
    assert.ok(alive, `moto does not answer at GAS_TEST_AWS_ENDPOINT=${awsEndpoint}`);
  }
  const gas = await startGas(backend, { awsEndpoint, windowSecs: WINDOW_SECS });
  console.log(`[${backend}] services up at ${gas.baseUrl} (data ${gas.dataDir})`);
  let browser;
  let passed = false;
  try {
    browser = await bounded(
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true }),
      STEP_MS,
      "launching Chromium",
    );
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    const flow = new Flow(backend, page, gas);
    await steps(flow, backend, awsEndpoint);
    if (flow.pageErrors.length) {
      flow.problems.push(...flow.pageErrors.map((e) => `script error or console error: ${e}`));
    }
    console.log(`[${backend}] screenshots in ${flow.dir}`);
    assert.deepEqual(flow.problems, [], `[${backend}] page problems:\n  ${flow.problems.join("\n  ")}`);
    passed = true;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await gas.stop();
    // A failed run keeps its data and service log for a look.
    if (passed) fs.rmSync(gas.dataDir, { recursive: true, force: true });
    else console.log(`[${backend}] kept ${gas.dataDir} (service log ${gas.logFile})`);
  }
}

async function steps(flow, backend, awsEndpoint) {
  const page = flow.page;
  const email = `browser-${backend}-${Date.now()}@example.org`;
  const password = "correct horse battery staple";
  let jobId = "";
  let firstSha = "";

  await flow.step("home", async () => {
    await flow.goto("/");
    assert.match(await page.title(), /GAS/);
    await page.locator("h1").first().waitFor();
    assert.equal(await page.locator('a[href="/signup"]').count() > 0, true, "the home page links to /signup");
    assert.equal(await page.locator("#logout").count(), 0, "nobody is signed in yet");
  });

  await flow.step("signup", async () => {
    await page.click('a[href="/signup"] >> nth=0');
    await page.waitForURL(/\/signup$/);
    assert.equal(await page.locator('input[name="csrf_token"]').count() > 0, true, "the sign-up form has a CSRF token");
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', password);
    await flow.shot("filled");
    // Sign-up signs no one in (it answers alike whether or not the email
    // was taken): it sends to the sign-in form, email filled in.
    await Promise.all([page.waitForURL(/\/login\?/), page.click('main button[type="submit"]')]);
    await page.locator("#created-notice").waitFor();
    assert.equal(await page.inputValue('input[name="email"]'), email, "the sign-in form has the email");
    assert.equal(await page.locator("#logout").count(), 0, "sign-up alone signs no one in");
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForURL(/\/annotate$/), page.click('main button[type="submit"]')]);
    await page.locator("#logout").waitFor();
    assert.equal(await page.locator(`a[title="${email}"]`).count(), 1, "the nav names the signed-in user");
  });

  await flow.step("over-limit-refused", async () => {
    const limit = (await page.textContent("#upload-limit")).replace(/\s+/g, " ").trim();
    flow.log(`  #upload-limit: ${limit}`);
    assert.match(limit, /Free plan: files up to 150 KiB/);
    const form = page.locator("#upload-form");
    const action = await form.getAttribute("action");
    if (backend === "aws") {
      assert.ok(action.startsWith(awsEndpoint), `the form posts to moto's bucket (${awsEndpoint}), not ${action}`);
      for (const field of ["key", "policy"]) {
        assert.equal(await page.locator(`#upload-form input[type=hidden][name="${field}"]`).count(), 1, `hidden field ${field}`);
      }
    } else {
      assert.equal(action, "/annotate");
    }
    const big = path.join(SAMPLES, "premium_1.vcf");
    assert.ok(fs.statSync(big).size > 150 * 1024, "premium_1.vcf is over the free limit");
    flow.navigations = [];
    await page.setInputFiles("#file", big);
    await page.waitForFunction(() => (document.getElementById("file-check") || {}).textContent, null, { timeout: 10_000 });
    const check = (await page.textContent("#file-check")).trim();
    flow.log(`  #file-check: ${check}`);
    assert.match(check, /150 KiB/, "the refusal names the limit");
    assert.match(check, /17\d KiB/, "the refusal names the file's size");
    assert.equal(await page.$eval("#file", (el) => el.validity.valid), false, "the file input is invalid");
    await flow.shot("file-check");
    await page.click('#upload-form button[type="submit"]');
    await sleep(1000);
    assert.deepEqual(flow.navigations, [], "submitting an over-limit file must not leave the page");
    assert.match(page.url(), /\/annotate$/);
  });

  await flow.step("upload", async () => {
    await page.setInputFiles("#file", path.join(SAMPLES, "free_1.vcf"));
    assert.equal((await page.textContent("#file-check")).trim(), "", "no complaint for a file within the limit");
    assert.equal(await page.$eval("#file", (el) => el.validity.valid), true);
    if (backend === "aws") {
      const key = await page.inputValue('#upload-form input[name="key"]');
      flow.log(`  key: ${key}`);
      assert.match(key, /free_1\.vcf$/, "the page's script names the key after the file");
    }
    flow.navRequests = [];
    await Promise.all([
      page.waitForURL(/\/annotations\/[^/?#]+$/, { waitUntil: "load" }),
      page.click('#upload-form button[type="submit"]'),
    ]);
    jobId = new URL(page.url()).pathname.split("/").pop();
    flow.log(`  job ${jobId}; navigation requests: ${flow.navRequests.join(" → ")}`);
    if (backend === "aws") {
      assert.ok(
        flow.navRequests.some((r) => r.startsWith(`POST ${awsEndpoint}`)),
        `the file went to moto's S3 (${flow.navRequests.join(", ")})`,
      );
      assert.ok(flow.navRequests.some((r) => r.includes("/annotate/uploaded?")), "S3 sent the browser to /annotate/uploaded");
    } else {
      assert.ok(flow.navRequests.some((r) => r.startsWith(`POST ${flow.url("/annotate")}`)));
    }
    assert.match(await page.textContent("h1"), /free_1\.vcf/);
  });

  await flow.step("job-live-to-completed", async () => {
    flow.navigations = [];
    const statuses = [];
    let shotRunning = false;
    const p = await flow.watchPanel(
      (p) => p.status === "COMPLETED" || p.status === "FAILED",
      async (p) => {
        statuses.push(p.status);
        if ((p.phase === "running" || p.phase === "queued") && !shotRunning) {
          assert.equal(await page.locator("#progress").count(), 1, `#progress while ${p.phase}`);
          await flow.shot(p.phase);
          shotRunning = p.phase === "running";
        }
      },
      STEP_MS - 5000,
      "COMPLETED",
    );
    flow.log(`  statuses seen: ${statuses.join(" → ")}`);
    assert.equal(p.status, "COMPLETED", `the job ended ${p.status}`);
    assert.deepEqual(flow.navigations, [], "the page reached COMPLETED without any navigation");
    assert.equal(p.phase, "ready");
    assert.equal(p.download, `/annotations/${jobId}/download`);
    assert.match(p.countdown || "", /^\d+ s$/, `#countdown shows seconds left (${p.countdown})`);
    assert.ok(parseInt(p.countdown, 10) <= WINDOW_SECS, "the countdown is within the window");
    assert.equal(p.logLink, `/annotations/${jobId}/log`);
  });

  await flow.step("charts", async () => {
    // The page reached COMPLETED live: its summary should be there too.
    const live = await page
      .waitForFunction(() => document.querySelectorAll("svg.chart").length >= 3, null, { timeout: 3000 })
      .then(() => true)
      .catch(() => false);
    if (!live) {
      flow.problem(
        `/annotations/${jobId}: after the live panel reached COMPLETED the summary charts (svg.chart) did not appear ` +
          `without a reload (${await page.locator("svg.chart").count()} on the page); the panel refresh swaps only #job-panel`,
      );
    }
    // What a (re)load of the page shows, fetched without navigating.
    const html = await (await page.request.get(flow.url(`/annotations/${jobId}`))).text();
    const charts = (html.match(/<svg[^>]*class="[^"]*\bchart\b/g) || []).length;
    flow.log(`  svg.chart: live ${await page.locator("svg.chart").count()}, on a fresh load ${charts}`);
    assert.ok(charts >= 3, `a fresh load of the job page has ${charts} svg.chart (want ≥ 3)`);
    for (const id of ["chart-classes", "chart-titv", "chart-contigs", "chart-annotated"]) {
      assert.ok(html.includes(`id="${id}"`), `the job page has #${id}`);
    }
    if (live) {
      for (const id of ["chart-classes", "chart-titv", "chart-contigs"]) {
        assert.equal(await page.locator(`#${id} svg.chart`).count(), 1, `#${id} holds an svg.chart`);
      }
      await page.locator("#chart-classes").scrollIntoViewIfNeeded();
    }
    assert.deepEqual(flow.navigations, [], "no navigation");
  });

  await flow.step("download", async () => {
    const { bytes, name, url } = await flow.download("first");
    // The file comes from a short-lived signed URL: moto's S3 on AWS, the
    // web service's signed blob route on the embedded backend.
    assert.ok(url.startsWith(backend === "aws" ? awsEndpoint : flow.url("/")), `served from ${url}`);
    const text = bytes.toString("utf8");
    assert.ok(text.startsWith("##fileformat=VCF"), `the download is a VCF (starts ${JSON.stringify(text.slice(0, 40))})`);
    assert.match(text, /\tVC=|;VC=/, "records carry the annotator's INFO VC");
    assert.match(text, /##INFO=<ID=VC/, "the header declares VC");
    assert.match(name, /\.vcf$/, `the file is saved as a .vcf (${name})`);
    firstSha = sha256(bytes);
    flow.log(`  sha256 ${firstSha}`);
    assert.deepEqual(flow.navigations, [], "downloading did not navigate the page");
  });

  await flow.step("window-over", async () => {
    await flow.watchPanel((p) => p.upgrade, null, STEP_MS - 5000, "#upgrade-notice");
    const p = await flow.panel();
    assert.equal(p.phase, "upgrade");
    assert.equal(p.download, null, "no download link after the window");
    assert.equal(await page.locator('#upgrade-notice a[href="/subscribe"]').count() >= 1, true, "the notice links to /subscribe");
    assert.deepEqual(flow.navigations, [], "the window ended on the page without any navigation");
    // The download route itself no longer hands out the file.
    const r = await page.request.get(flow.url(`/annotations/${jobId}/download`), { maxRedirects: 0 });
    assert.equal(r.status(), 303);
    assert.equal(r.headers()["location"], `/annotations/${jobId}`, "the download route sends the user back to the job page");
  });

  await flow.step("variants-upgrade", async () => {
    // The variant table follows the download's rule: after the window it
    // says why and offers the upgrade, as the job page does.
    const r = await page.goto(flow.url(`/annotations/${jobId}/variants`), { waitUntil: "load" });
    assert.equal(r.status(), 403, "the refused table answers 403");
    // Chromium logs the answer's status as a console error: expected here.
    const expected = `${flow.current}: console: Failed to load resource: the server responded with a status of 403 (Forbidden)`;
    flow.pageErrors = flow.pageErrors.filter((e) => e !== expected);
    const notice = (await page.textContent("#upgrade-notice")).replace(/\s+/g, " ").trim();
    flow.log(`  #upgrade-notice: ${notice}`);
    assert.match(notice, /free download window for these results is over/);
    assert.equal(await page.locator('#upgrade-notice a[href="/subscribe"]').count(), 1, "the notice links to /subscribe");
    assert.equal(await page.locator("table.variants").count(), 0, "no table");
    assert.equal(await page.locator("#variant-filters").count(), 0, "no filter form");
    await flow.shot("notice");
    await Promise.all([page.waitForURL(/\/subscribe$/), page.click('#upgrade-notice a[href="/subscribe"]')]);
    await page.locator("#subscribe-form").waitFor();
  });

  let restoringNote = "";
  await flow.step("subscribe", async () => {
    await flow.goto("/subscribe");
    await page.locator("#subscribe-form").waitFor();
    await flow.shot("plans");
    await Promise.all([page.waitForURL(/\/subscribe\?welcome=true$/), page.click("#subscribe")]);
    const text = (await page.textContent("#subscribed")).replace(/\s+/g, " ").trim();
    flow.log(`  #subscribed: ${text}`);
    assert.match(text, /Welcome to Premium/);
    restoringNote = text;
    assert.equal(await page.locator('a[href="/subscribe"]').count(), 0, "a premium user's nav has no Go Premium link");
  });

  await flow.step("restored-live", async () => {
    // A second tab on the variant table meanwhile: "restoring", and the
    // table back by itself once the results are.
    const tab = await page.context().newPage();
    tab.on("pageerror", (e) => flow.pageErrors.push(`${flow.current} (variants tab): ${e.message}`));
    const vr = await tab.goto(flow.url(`/annotations/${jobId}/variants`), { waitUntil: "load" });
    const variantsRestoring = (await tab.locator("#restoring-notice").count()) === 1;
    if (variantsRestoring) {
      assert.equal(vr.status(), 409, "the table while restoring answers 409");
      const notice = (await tab.textContent("#restoring-notice")).replace(/\s+/g, " ").trim();
      flow.log(`  variants tab: #restoring-notice: ${notice}`);
      assert.match(notice, /restor/i);
      assert.match(notice, /The table comes back here when they do/);
      assert.equal(await tab.locator("#upgrade-notice").count(), 0, "a premium user is not offered the upgrade");
      await tab.screenshot({ path: path.join(flow.dir, `${flow.current}-variants-restoring.png`), fullPage: true });
    } else {
      flow.log(`  variants tab: the results were back before it opened (${vr.status()})`);
    }
    await flow.goto(`/annotations/${jobId}`);
    flow.navigations = [];
    const phases = [];
    const p = await flow.watchPanel(
      (p) => !!p.download,
      async (p) => {
        phases.push(p.phase);
        if (p.restoring) await flow.shot("restoring");
        if (p.upgrade) throw new Error("a premium user sees #upgrade-notice");
      },
      90_000,
      "a#download after the upgrade",
    );
    flow.log(`  phases: ${phases.join(" → ")} (${restoringNote})`);
    assert.equal(p.phase, "ready");
    assert.equal(p.countdown, null, "no countdown for a premium user");
    assert.deepEqual(flow.navigations, [], "the results came back on the page without any navigation");
    await tab.locator("table.variants tbody tr").first().waitFor({ timeout: 20_000 });
    flow.log(`  variants tab: the table is back (${await tab.textContent("#count")} alleles)`);
    await tab.screenshot({ path: path.join(flow.dir, `${flow.current}-variants-back.png`), fullPage: true });
    await tab.close();
  }, 100_000);

  await flow.step("download-again", async () => {
    const { bytes } = await flow.download("again");
    const sha = sha256(bytes);
    flow.log(`  sha256 ${sha}`);
    assert.equal(sha, firstSha, "the restored results are the same bytes");
  });

  await flow.step("log", async () => {
    await Promise.all([page.waitForURL(/\/log$/), page.click("a#log-link")]);
    const log = await page.textContent("pre#log");
    flow.log(`  log: ${log.length} chars, first line ${JSON.stringify(log.split("\n")[0])}`);
    assert.ok(log.trim().length > 0, "the log is not empty");
  });

  await flow.step("annotations-list", async () => {
    await flow.goto("/annotations");
    const first = page.locator("table.jobs tbody tr").first();
    assert.equal(await first.locator(`a[href="/annotations/${jobId}"]`).count(), 1, "the newest row is the job");
    const row = (await first.textContent()).replace(/\s+/g, " ");
    flow.log(`  row: ${row.trim()}`);
    assert.match(row, /free_1\.vcf/);
    assert.match(row, /COMPLETED/);
  });

  // --- The variant table: filter, page, sort, back, export ----------------
  // The filter: a gene prefix and an impact with more than a page of
  // alleles in free_1.vcf (MT-CO* at MODERATE or higher has 40).
  const GENE = "MT-CO";
  const IMPACT = "LOW";
  const IMPACT_RANK = { HIGH: 3, MODERATE: 2, LOW: 1, MODIFIER: 0 };
  const rank = (impact) => (impact in IMPACT_RANK ? IMPACT_RANK[impact] : -1);
  const variantsPath = `/annotations/${jobId}/variants`;
  const shown = () => page.evaluate(() => document.getElementById("count").textContent.trim());
  const count = async () => parseInt(await shown(), 10);
  // The rows on screen: the picked entry's cells and every entry (picked
  // and the others under "more transcripts").
  const rows = () =>
    page.$$eval("table.variants tbody tr", (trs) =>
      trs.map((tr) => {
        const cell = (c) => {
          const td = tr.querySelector(`:scope > td.${c}`);
          return td ? td.firstChild ? td.firstChild.textContent.trim() : "" : "";
        };
        const others = [...tr.querySelectorAll("details li")].map((li) => ({
          gene: li.querySelector(".gene").textContent.trim(),
          impact: li.querySelector(".impact").textContent.trim(),
        }));
        return {
          key: `${cell("pos")} ${cell("change")}`,
          pos: cell("pos"),
          gene: cell("gene"),
          impact: cell("impact"),
          entries: [{ gene: cell("gene"), impact: cell("impact") }, ...others],
        };
      }),
    );
  // What is on screen, to wait for a change of it.
  const screen = () =>
    page.evaluate(
      () =>
        document.getElementById("count").textContent +
        "|" +
        [...document.querySelectorAll("table.variants tbody td.pos")].map((td) => td.textContent).join(","),
    );
  const redrawn = (before) =>
    page.waitForFunction(
      (b) => {
        const now =
          document.getElementById("count").textContent +
          "|" +
          [...document.querySelectorAll("table.variants tbody td.pos")].map((td) => td.textContent).join(",");
        return now !== b && !document.getElementById("variant-table").hasAttribute("aria-busy");
      },
      before,
      { timeout: 15_000 },
    );
  // Updates in place: the page loaded once is still the one on screen.
  const inPlace = async (what) => {
    assert.equal(await page.evaluate(() => window.__variantsPage === true), true, `${what}: the page was not reloaded`);
    assert.deepEqual(flow.navRequests, [], `${what}: no navigation request`);
  };
  const query = () => new URL(page.url()).searchParams;
  // Gene GENE*, impact at least IMPACT, in one entry (VEP's filter).
  const matches = (entries) => entries.some((e) => e.gene.startsWith(GENE) && rank(e.impact) >= IMPACT_RANK[IMPACT]);
  const allMatch = async (what) => {
    const list = await rows();
    assert.ok(list.length > 0, `${what}: rows shown`);
    for (const r of list) {
      assert.ok(matches(r.entries), `${what}: row ${r.key} has a ${GENE}* entry of impact ≥ ${IMPACT} (${JSON.stringify(r.entries)})`);
    }
    return list;
  };
  const posOf = (r) => parseInt(r.pos.split(":").pop(), 10);
  let all = 0;
  let filtered = 0;
  let firstPage = [];
  let secondPage = [];

  await flow.step("variants", async () => {
    // The whole table, its sortable headers links (they work without a
    // script), and the page's script loaded from this origin.
    await flow.goto(variantsPath);
    all = await count();
    flow.log(`  ${all} variant alleles`);
    assert.ok(all > 0, "the table counts the job's variant alleles");
    assert.ok((await page.locator("table.variants tbody tr").count()) > 0, "the table has rows");
    for (const by of ["position", "gene", "impact", "frequency"]) {
      const href = await page.getAttribute(`table.variants th a[data-sort="${by}"]`, "href");
      assert.ok(href && new URL(href, page.url()).searchParams.get("sort") === by, `the ${by} header links to its sort (${href})`);
    }
    assert.equal(await page.locator('script[src="/assets/variants.js"]').count(), 1);
    await page.evaluate(() => {
      window.__variantsPage = true;
    });
  });

  await flow.step("variants-filter", async () => {
    const before = await screen();
    flow.navRequests = [];
    await page.fill('input[name="gene"]', GENE);
    await page.selectOption('select[name="impact"]', IMPACT);
    await page.click('#variant-filters button[type="submit"]');
    await page.waitForURL((u) => u.searchParams.get("gene") === GENE);
    await redrawn(before);
    await inPlace("filtering");
    assert.equal(query().get("gene"), GENE);
    assert.equal(query().get("impact"), IMPACT);
    filtered = await count();
    flow.log(`  gene ${GENE}*, impact ≥ ${IMPACT}: ${filtered} of ${all}; URL ${page.url()}`);
    assert.ok(filtered > 0 && filtered < all, `the filters narrow the table (${filtered} of ${all})`);
    firstPage = await allMatch("filtered page 1");
    assert.ok(filtered > firstPage.length, `more than one page (${filtered} alleles, ${firstPage.length} shown)`);
    assert.equal(firstPage.length, 50, "50 rows a page");
    assert.equal(await page.isVisible("#next"), true, "a next link");
    assert.equal(await page.isVisible("#prev"), false, "no previous link on the first page");
  });

  await flow.step("variants-next", async () => {
    const before = await screen();
    await page.click("#next");
    await page.waitForURL(/cursor=/);
    await redrawn(before);
    await inPlace("the next page");
    secondPage = await allMatch("filtered page 2");
    const seen = new Set(firstPage.map((r) => r.key));
    assert.ok(secondPage.every((r) => !seen.has(r.key)), "page 2 shows other rows than page 1");
    assert.ok(posOf(secondPage[0]) >= posOf(firstPage[firstPage.length - 1]), "page 2 goes on in position order");
    assert.equal(await count(), filtered, "the count is of the whole filtered set");
    assert.equal(query().get("gene"), GENE, "the filters stay in the URL");
    assert.equal(await page.isVisible("#prev"), true, "a previous link");
    assert.equal(await page.isVisible("#first"), true, "a first-page link");
    flow.log(`  page 2: ${secondPage[0].key} … ${secondPage[secondPage.length - 1].key}`);
  });

  await flow.step("variants-sort", async () => {
    const before = await screen();
    await page.click('table.variants th a[data-sort="impact"]');
    await page.waitForURL(/sort=impact/);
    await redrawn(before);
    await inPlace("sorting");
    assert.equal(query().get("cursor"), null, "a new sort starts at the first page");
    assert.equal(query().get("gene"), GENE, "sorting keeps the filters");
    assert.equal(await count(), filtered, "sorting keeps the count");
    const list = await allMatch("sorted by impact");
    const ranks = list.map((r) => rank(r.impact));
    for (let i = 1; i < ranks.length; i++) {
      assert.ok(ranks[i - 1] >= ranks[i], `impact order: row ${i} (${list[i].impact}) after ${list[i - 1].impact}`);
    }
    assert.equal(await page.inputValue('select[name="sort"]'), "impact", "the form shows the sort");
    assert.equal(await page.getAttribute('th:has(a[data-sort="impact"])', "aria-sort"), "descending");
    flow.log(`  impacts: ${[...new Set(list.map((r) => r.impact))].join(" > ")}`);
    await page.screenshot({ path: path.join(flow.dir, `${flow.current}-top.png`) });
  });

  await flow.step("variants-back", async () => {
    // The back button: page 2 in position order again, in place.
    let before = await screen();
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.has("cursor") && u.searchParams.get("sort") !== "impact");
    await redrawn(before);
    await inPlace("back");
    assert.deepEqual((await rows()).map((r) => r.key), secondPage.map((r) => r.key), "back shows page 2 again");
    assert.equal(await page.inputValue('select[name="sort"]'), "position", "the form shows the sort of that state");
    assert.equal(await page.inputValue('input[name="gene"]'), GENE);
    assert.equal(await page.inputValue('select[name="impact"]'), IMPACT);
    // And the previous link: page 1.
    before = await screen();
    await page.click("#prev");
    await page.waitForURL((u) => !u.searchParams.has("cursor"));
    await redrawn(before);
    await inPlace("previous");
    assert.deepEqual((await rows()).map((r) => r.key), firstPage.map((r) => r.key), "previous shows page 1 again");
  });

  await flow.step("variants-export", async () => {
    // The export links carry the filters; the TSV has a header and one line
    // an allele, as many as the count says; the JSON's alleles all match.
    const tsvHref = await page.getAttribute("#export-tsv", "href");
    const q = new URL(tsvHref, page.url()).searchParams;
    assert.equal(q.get("gene"), GENE);
    assert.equal(q.get("impact"), IMPACT);
    assert.equal(q.get("format"), "tsv");
    const tsv = await page.request.get(flow.url(tsvHref));
    assert.equal(tsv.status(), 200, `GET ${tsvHref}`);
    const lines = (await tsv.text()).split("\n").filter((l) => l.length > 0);
    const header = lines[0].split("\t");
    flow.log(`  TSV: ${lines.length} lines; header ${header.join(",")}`);
    assert.deepEqual(header.slice(0, 5), ["chrom", "pos", "id", "ref", "alt"], "the TSV's header line");
    assert.ok(header.includes("gene") && header.includes("impact"), "the header names gene and impact");
    assert.equal(lines.length - 1, await count(), "one TSV line per allele the page counts");
    const jsonHref = await page.getAttribute("#export-json", "href");
    const exported = await (await page.request.get(flow.url(jsonHref))).json();
    assert.equal(exported.length, filtered, "the JSON export has every allele counted");
    for (const v of exported) {
      const entries = [{ gene: v.gene || "", impact: v.impact || "" }].concat(
        v.transcripts.map((t) => ({ gene: t.gene || "", impact: t.impact || "" })),
      );
      assert.ok(matches(entries), `exported ${v.chrom}:${v.pos} matches the filters`);
    }
  });

  await flow.step("variants-no-script", async () => {
    // Without a script: the same page, plain links and a plain form.
    const context = await page.context().browser().newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
      storageState: await page.context().storageState(),
    });
    try {
      const plain = await context.newPage();
      const shot = (name) => plain.screenshot({ path: path.join(flow.dir, `${flow.current}-${name}.png`), fullPage: true });
      const r = await plain.goto(flow.url(variantsPath), { waitUntil: "load" });
      assert.equal(r.status(), 200);
      await shot("narrow");
      await plain.screenshot({ path: path.join(flow.dir, `${flow.current}-narrow-top.png`) });
      await plain.fill('input[name="gene"]', GENE);
      await plain.selectOption('select[name="impact"]', IMPACT);
      await Promise.all([plain.waitForNavigation(), plain.click('#variant-filters button[type="submit"]')]);
      assert.equal(new URL(plain.url()).searchParams.get("gene"), GENE);
      assert.equal((await plain.textContent("#count")).trim(), String(filtered), "the form's answer counts the same");
      await Promise.all([plain.waitForNavigation(), plain.click('table.variants th a[data-sort="gene"]')]);
      const genes = await plain.$$eval("table.variants tbody td.gene", (tds) => tds.map((td) => td.textContent.trim()));
      const named = genes.filter((g) => g !== "");
      assert.deepEqual(named, [...named].sort(), "sorted by gene");
      assert.ok(genes.indexOf("") === -1 || genes.slice(genes.indexOf("")).every((g) => g === ""), "no gene last");
      await Promise.all([plain.waitForNavigation(), plain.click("#next")]);
      assert.ok(new URL(plain.url()).searchParams.has("cursor"), "the next link carries the cursor");
      assert.equal(new URL(plain.url()).searchParams.get("sort"), "gene", "and the sort");
      await shot("next");
    } finally {
      await context.close();
    }
  });

  await flow.step("profile-token", async () => {
    await flow.goto("/profile");
    assert.equal((await page.textContent("#email")).trim(), email);
    assert.match((await page.textContent("#plan")).trim(), /^Premium$/);
    await page.fill("#token-name", "browser test");
    await page.click('form:has(#token-name) button[type="submit"]');
    await page.locator("#new-token").waitFor();
    const token = (await page.textContent("#new-token")).trim();
    assert.ok(token.length >= 16, `a new token is shown (${token.length} chars)`);
    // The token works on the JSON API (without the browser's cookie).
    const r = await fetch(flow.url("/api/v1/me"), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, "GET /api/v1/me with the new token");
    const me = await r.json();
    flow.log(`  /api/v1/me: ${JSON.stringify(me)}`);
    assert.equal(me.email, email);
    const jobs = await (await fetch(flow.url("/api/v1/jobs"), { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.equal(jobs.jobs[0].job_id, jobId, "the API lists the job");
  });

  await flow.step("sign-out", async () => {
    await Promise.all([page.waitForNavigation(), page.click("#logout")]);
    assert.equal(await page.locator("#logout").count(), 0, "signed out");
    assert.equal(await page.locator('a[href="/login"]').count() >= 1, true, "the nav offers Sign in");
    const r = await page.request.get(flow.url(`/annotations/${jobId}`), { maxRedirects: 0 });
    assert.ok([302, 303, 307].includes(r.status()), `a signed-out visit to a job page is sent away (${r.status()})`);
  });

  await flow.step("sign-in", async () => {
    await flow.goto("/login");
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForURL(/\/annotations$/), page.click('main button[type="submit"]')]);
    assert.equal(await page.locator(`table.jobs a[href="/annotations/${jobId}"]`).count(), 1, "the job list shows the job");
    await page.locator("#logout").waitFor();
  });
}

for (const backend of ["embedded", "aws"]) {
  const skip = SELECTED.includes(backend) ? false : "not in BROWSER_BACKENDS";
  test(`${backend}: sign up, upload, watch, download, window, upgrade, restore`, { skip, timeout: 15 * 60_000 }, () =>
    runFlow(backend),
  );
}
