// Helpers for the browser tests: run the real `portico` binary, seed it, serve a tiny redirect
// target, launch Debian's headless Chromium through playwright-core and walk Portico's login,
// picker and consent pages the way a person would.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const PORTICO_BIN = process.env.PORTICO_BIN || 'portico';
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// Chromium as root in a container: no sandbox, no GPU, and nothing that reaches the network on
// its own. playwright-core gives every launch a fresh, temporary --user-data-dir.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export function checkPrerequisites() {
  const problems = [];
  if (!fs.existsSync(CHROMIUM)) {
    problems.push(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  }
  const r = spawnSync(PORTICO_BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    problems.push(`portico binary not runnable: ${PORTICO_BIN} (set PORTICO_BIN)`);
  }
  if (problems.length) {
    throw new Error('browser test prerequisites missing:\n  ' + problems.join('\n  '));
  }
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs `portico ARGS...` to completion; throws with its output on a non-zero exit. */
export function portico(args, input) {
  const r = spawnSync(PORTICO_BIN, args, {
    input: input === undefined ? undefined : input + '\n',
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`portico ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A `portico serve` process on a free port with its own SQLite database. */
export class PorticoServer {
  static async start(dbPath, extraArgs = []) {
    const s = new PorticoServer();
    s.stderr = '';
    s.proc = spawn(PORTICO_BIN,
      ['serve', '--db', `sqlite:${dbPath}`, '--listen', '127.0.0.1:0', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    s.proc.stderr.setEncoding('utf8');
    s.proc.stderr.on('data', (d) => { s.stderr += d; });
    s.exited = new Promise((resolve) => {
      s.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    const lines = readline.createInterface({ input: s.proc.stdout });
    s.base = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('portico did not start in 30 s:\n' +
        s.stderr)), 30_000);
      lines.on('line', (line) => {
        const m = /^FHIR base URL: (\S+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      s.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`portico exited (${code ?? signal}) before listening:\n${s.stderr}`));
      });
    });
    s.root = s.base.replace(/\/fhir$/, '');
    return s;
  }

  /** Stops the server with SIGTERM and returns its exit status and standard error. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
      const result = await this.exited;
      clearTimeout(timer);
      return { ...result, stderr: this.stderr };
    }
    return { ...(await this.exited), stderr: this.stderr };
  }
}

/**
 * A local stand-in for an app's redirect URI: records every query it receives and answers
 * with a plain "done" page.
 */
export async function startRedirectTarget() {
  const hits = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    hits.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><title>done</title><p id="done">done</p>');
  });
  await listen(server);
  return { server, hits, url: `http://127.0.0.1:${server.address().port}/callback` };
}

export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
}

export function closeServer(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function jwtClaims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * Walks Portico's pages in a real browser page that is already on (or being redirected to) the
 * login page. Fills the login form, picks `patient` on the picker (which must appear exactly when
 * `expectPicker`), unticks the scopes in `untick` on the consent page, calls `onConsent(page)`
 * and clicks the button for `decision`. Resolves once the browser is on `redirectPrefix`.
 * Returns what each page looked like.
 */
export async function walkAuthorization(page, {
  username, password, patient, expectPicker = false, untick = [], decision = 'allow',
  redirectPrefix, onConsent,
}) {
  const seen = {};
  await page.waitForSelector('input[name="username"]');
  seen.loginTitle = await page.title();
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await submit(page, 'button[type="submit"]');
  if (new URL(page.url()).pathname === '/oauth/login') {
    throw new Error(`login failed for ${username}:\n` + await page.textContent('body'));
  }

  if (new URL(page.url()).pathname === '/oauth/pick') {
    if (!expectPicker) throw new Error('unexpected patient picker for ' + username);
    seen.pickerChoices = await page.$$eval('input[name="patient"]',
      (els) => els.map((e) => e.value));
    seen.pickerText = await page.textContent('body');
    await page.check(`input[name="patient"][value="${patient}"]`);
    await submit(page, 'button[type="submit"]');
  } else if (expectPicker) {
    throw new Error(`expected the patient picker, got ${page.url()}:\n` +
      await page.textContent('body'));
  }

  if (new URL(page.url()).pathname !== '/oauth/consent') {
    throw new Error(`expected the consent page, got ${page.url()}:\n` +
      await page.textContent('body'));
  }
  await page.waitForSelector('button[name="decision"]');
  seen.consentText = await page.textContent('body');
  seen.consentScopes = await page.$$eval('input[name="scope"]', (els) => els.map((e) => e.value));
  for (const scope of untick) {
    await page.uncheck(`input[name="scope"][value="${scope}"]`);
  }
  seen.checkedScopes = await page.$$eval('input[name="scope"]:checked',
    (els) => els.map((e) => e.value));
  if (onConsent) await onConsent(page);
  await submit(page, `button[name="decision"][value="${decision}"]`);
  seen.finalUrl = page.url();
  if (!seen.finalUrl.startsWith(redirectPrefix)) {
    throw new Error(`expected the redirect to ${redirectPrefix}, got ${seen.finalUrl}:\n` +
      await page.textContent('body'));
  }
  return seen;
}

/** Clicks a submit button and waits for the navigation (and any redirects) it starts. */
export async function submit(page, selector) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click(selector),
  ]);
  return response;
}

/** A fresh context of `browser` (own cookies) and a page that records CSP violations and page
 * errors in `problems`. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) {
      problems.push(msg.text());
    }
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return { context, page, problems };
}
