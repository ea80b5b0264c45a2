// Starts and stops a GAS deployment for one browser test: `gas dev` on the
// embedded backend, or `gas provision` + `gas dev --backend aws` against
// moto. Each run gets its own data directory and free ports; every process
// started here is killed when the run stops or this node process exits.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const REPO = path.resolve(__dirname, "..", "..", "..");
const GAS_BIN = process.env.GAS_BIN || path.join(REPO, "target", "debug", "gas");

// Every child still running, so that an exit or a signal can end them.
const live = new Set();

function killAll(signal) {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch (_) {
      // already gone
    }
  }
}
process.on("exit", () => killAll("SIGKILL"));
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    killAll("SIGKILL");
    process.exit(128 + (os.constants.signals[sig] || 0));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// The last `n` lines of a file (a service log), for failure messages.
function tail(file, n = 40) {
  try {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    return lines.slice(-n - 1).join("\n");
  } catch (e) {
    return `(no log at ${file}: ${e.message})`;
  }
}

/// The environment a service gets: this process's, without any GAS_* or
/// AWS_* variable it may carry, plus `extra`.
function serviceEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("GAS_") && !k.startsWith("AWS_")) env[k] = v;
  }
  // Errors, not pages of backtrace, in the log tails of failures.
  return Object.assign(env, { RUST_BACKTRACE: "0", RUST_LIB_BACKTRACE: "0" }, extra);
}

/// Runs `gas args...` to completion (bounded); resolves with its output.
function runToEnd(args, env, logFile, timeoutMs) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logFile, "a");
    fs.writeSync(log, `\n$ gas ${args.join(" ")}\n`);
    const child = spawn(GAS_BIN, args, { env, stdio: ["ignore", log, log] });
    live.add(child);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gas ${args.join(" ")} did not finish in ${timeoutMs / 1000} s; log tail:\n${tail(logFile)}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      live.delete(child);
      fs.closeSync(log);
      reject(new Error(`could not run ${GAS_BIN}: ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      fs.closeSync(log);
      if (code === 0) resolve();
      else reject(new Error(`gas ${args.join(" ")} exited with ${code ?? signal}; log tail:\n${tail(logFile)}`));
    });
  });
}

async function waitHealthy(url, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`gas exited (${child.exitCode ?? child.signalCode}) before ${url} answered; log tail:\n${tail(logFile)}`);
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch (_) {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s; log tail:\n${tail(logFile)}`);
}

/// Starts the three services for `backend` ("embedded" or "aws"; the latter
/// needs `awsEndpoint`); `env` adds variables (GAS_OIDC_*, ...). Resolves
/// with { baseUrl, logFile, dataDir, stop }.
async function startGas(backend, { awsEndpoint, windowSecs = 10, healthTimeoutMs = 60_000, env: moreEnv = {} } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `gas-browser-${backend}-`));
  const logFile = path.join(dataDir, "gas.log");
  const [web, util, ann] = [await freePort(), await freePort(), await freePort()];
  const extra = {
    GAS_DATA_DIR: dataDir,
    GAS_WEB_ADDR: `127.0.0.1:${web}`,
    GAS_UTIL_ADDR: `127.0.0.1:${util}`,
    GAS_ANN_ADDR: `127.0.0.1:${ann}`,
    GAS_FREE_ACCESS_WINDOW: String(windowSecs),
    GAS_EXPEDITED_RETRIEVAL_MS: "1000",
    GAS_DRAIN_INTERVAL: "1",
    GAS_RESTORE_POLL_INTERVAL: "1",
    RUST_LOG: "info",
  };
  const args = ["dev"];
  if (backend === "aws") {
    if (!awsEndpoint) throw new Error("the aws flow needs GAS_TEST_AWS_ENDPOINT (moto's URL)");
    Object.assign(extra, {
      GAS_BACKEND: "aws",
      GAS_AWS_ENDPOINT_URL: awsEndpoint,
      GAS_AWS_PREFIX: `br${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`,
      GAS_VISIBILITY_TIMEOUT: "10",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    args.push("--backend", "aws");
  } else if (backend !== "embedded") {
    throw new Error(`unknown backend ${backend}`);
  }
  const env = serviceEnv(Object.assign(extra, moreEnv));
  if (backend === "aws") {
    await runToEnd(["provision"], env, logFile, 120_000);
  }

  const log = fs.openSync(logFile, "a");
  fs.writeSync(log, `\n$ gas ${args.join(" ")}\n`);
  const child = spawn(GAS_BIN, args, { env, stdio: ["ignore", log, log] });
  fs.closeSync(log);
  live.add(child);
  child.on("exit", () => live.delete(child));
  const exited = new Promise((resolve) => child.on("exit", resolve));

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await Promise.race([exited, sleep(5000)]);
      }
    }
    live.delete(child);
  }

  const baseUrl = `http://127.0.0.1:${web}`;
  try {
    await waitHealthy(`${baseUrl}/healthz`, child, logFile, healthTimeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  return { baseUrl, logFile, dataDir, child, stop, prefix: extra.GAS_AWS_PREFIX };
}

/// Starts oidc-provider.js (a real OpenID Connect provider, see there) on
/// `port` for one client redirecting to `redirectUri`; resolves once its
/// discovery document answers, with { issuer, logFile, stop }.
async function startOidcProvider({ port, issuer, clientId, clientSecret, redirectUri, emailDomain, logFile, readyTimeoutMs = 30_000 }) {
  const log = fs.openSync(logFile, "a");
  fs.writeSync(log, `\n$ node oidc-provider.js (port ${port})\n`);
  const env = serviceEnv({
    OIDC_PORT: String(port),
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: clientId,
    OIDC_CLIENT_SECRET: clientSecret,
    OIDC_REDIRECT_URI: redirectUri,
    OIDC_EMAIL_DOMAIN: emailDomain,
  });
  const child = spawn(process.execPath, [path.join(__dirname, "oidc-provider.js")], {
    cwd: __dirname,
    env,
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  live.add(child);
  child.on("exit", () => live.delete(child));
  const exited = new Promise((resolve) => child.on("exit", resolve));

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await Promise.race([exited, sleep(5000)]);
      }
    }
    live.delete(child);
  }

  // Asked at 127.0.0.1, where it listens, whatever host the issuer names.
  const discovery = `http://127.0.0.1:${port}/.well-known/openid-configuration`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`oidc-provider.js exited (${child.exitCode ?? child.signalCode}); log tail:\n${tail(logFile)}`);
    }
    try {
      const r = await fetch(discovery, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) {
        const found = (await r.json()).issuer;
        if (found !== issuer) {
          await stop();
          throw new Error(`oidc-provider.js names issuer ${found}, not ${issuer}`);
        }
        break;
      }
    } catch (e) {
      if (e.message.startsWith("oidc-provider.js")) throw e;
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${discovery} did not answer 200 within ${readyTimeoutMs / 1000} s; log tail:\n${tail(logFile)}`);
    }
    await sleep(200);
  }
  return { issuer, logFile, child, stop };
}

module.exports = { startGas, startOidcProvider, freePort, tail, sleep, REPO, GAS_BIN };
