// Headless Chromium drives the operator pages (/admin) and the member's connected-apps page
// (/oauth/manage), in one story:
//
//  1. An operator signs in at /admin, registers an app through the Register form (RFC 7591 field
//     names), reads the client secret shown once, and sees the app in the list.
//  2. A member connects that app (login and consent in Chromium; the test exchanges the code);
//     the operator suspends the app in the page and the app's token gets 401 at once; Activate
//     restores it.
//  3. The member signs in at /oauth/manage, sees the app, revokes it; the token then gets 401.
//
// Run: PORTICO_BIN=/path/to/portico node --test admin.test.mjs   (after `npm ci` here)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, PorticoServer, checkPrerequisites, closeServer, newPage, pkcePair,
  portico, startRedirectTarget, submit, tempDir, walkAuthorization,
} from './harness.mjs';

const OPERATOR = { username: 'olga', password: 'olga-operator-password-1' };
const MEMBER = { username: 'mia', password: 'mia-password-1', patient: 'demo-member-3' };
const APP_NAME = 'Harbor Light Health Wallet';
const SCOPE = 'launch/patient openid fhirUser offline_access patient/*.read';

let tmp;
let server;
let target;
let browser;
const app = {};  // what the operator registered: clientId, secret; then the member's token

before(async () => {
  checkPrerequisites();
  tmp = tempDir('portico-admin-browser-');
  const db = path.join(tmp, 'admin.db');
  const demo = path.join(tmp, 'demo.ndjson');
  portico(['generate', '--members', '3', '--out', demo]);
  portico(['import', '--db', `sqlite:${db}`, demo]);
  portico(['operator', 'add', '--db', `sqlite:${db}`, '--username', OPERATOR.username,
    '--password-stdin'], OPERATOR.password);
  portico(['user', 'add', '--db', `sqlite:${db}`, '--username', MEMBER.username,
    '--password-stdin', '--patient', MEMBER.patient], MEMBER.password);
  target = await startRedirectTarget();
  server = await PorticoServer.start(db);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  if (target) await closeServer(target.server);
  if (server) {
    const { code, signal, stderr } = await server.stop();
    assert.ok(!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderr),
      'portico reported a sanitizer error:\n' + stderr);
    assert.ok(code === 0 || signal === 'SIGTERM', `portico exited with ${code ?? signal}`);
    if (app.secret) {
      assert.ok(!stderr.includes(app.secret), 'the client secret never reaches the log');
    }
    assert.ok(!stderr.includes(OPERATOR.password), 'no password in the log');
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function fhirStatus(token) {
  const r = await fetch(`${server.base}/Patient/${MEMBER.patient}`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' },
  });
  await r.arrayBuffer();
  return r.status;
}

async function operatorSignIn(page) {
  const resp = await page.goto(`${server.root}/admin`);
  assert.equal(resp.status(), 200);
  assert.equal(resp.headers()['x-frame-options'], 'DENY');
  assert.match(resp.headers()['content-security-policy'], /frame-ancestors 'none'/);
  await page.fill('input[name="username"]', OPERATOR.username);
  await page.fill('input[name="password"]', OPERATOR.password);
  await submit(page, 'button[type="submit"]');
  assert.equal(new URL(page.url()).pathname, '/admin');
  assert.match(await page.textContent('h1'), /Registered apps/);
}

describe('operator pages and the member page in Chromium', () => {
  test('an operator signs in, registers an app through the form and sees it listed',
    async () => {
      const { context, page, problems } = await newPage(browser);
      try {
        // A wrong password keeps the operator on the sign-in form.
        await page.goto(`${server.root}/admin`);
        await page.fill('input[name="username"]', OPERATOR.username);
        await page.fill('input[name="password"]', 'not-the-password');
        const bad = await submit(page, 'button[type="submit"]');
        assert.equal(bad.status(), 401);
        assert.ok(await page.isVisible('[role="alert"]'));

        await operatorSignIn(page);
        const cookies = await context.cookies(`${server.root}/admin`);
        const session = cookies.find((c) => c.name === 'portico_admin');
        assert.ok(session, JSON.stringify(cookies));
        assert.equal(session.httpOnly, true);
        assert.equal(session.sameSite, 'Strict');
        assert.equal(session.path, '/admin');

        await page.click('a[href="/admin/register"]');
        await page.waitForSelector('input[name="client_name"]');
        await page.fill('input[name="client_name"]', APP_NAME);
        await page.fill('input[name="client_uri"]', 'https://harborlight.example/');
        await page.fill('input[name="policy_uri"]', 'https://harborlight.example/privacy');
        await page.fill('input[name="tos_uri"]', 'https://harborlight.example/terms');
        await page.fill('input[name="logo_uri"]', 'https://harborlight.example/logo.png');
        await page.fill('textarea[name="redirect_uris"]', target.url);
        await page.fill('textarea[name="contacts"]', 'dev@harborlight.example');
        await page.fill('input[name="scope"]', SCOPE);
        await page.check('input[name="token_endpoint_auth_method"][value="client_secret_basic"]');
        const yes = new Set(['privacy_policy_published', 'member_can_delete',
          'carin_code_of_conduct']);
        const questions = await page.$$eval('input[name^="attest_"][value="yes"]',
          (els) => els.map((e) => e.name.slice('attest_'.length)));
        assert.ok(questions.includes('sells_data'), JSON.stringify(questions));
        for (const q of questions) {
          await page.check(`input[name="attest_${q}"][value="${yes.has(q) ? 'yes' : 'no'}"]`);
        }
        const resp = await submit(page, 'form[action="/admin/register"] button[type="submit"]');
        assert.equal(resp.status(), 200, await page.textContent('body'));

        // The new app's page: the secret shown once, every field and the answers.
        app.clientId = (await page.textContent('#client-id')).trim();
        app.secret = (await page.textContent('#client-secret')).trim();
        assert.ok(app.clientId.length >= 20, app.clientId);
        assert.ok(app.secret.length >= 40, 'a generated secret is shown');
        assert.match(await page.textContent('#client-status'), /active/);
        const text = await page.textContent('body');
        for (const s of ['https://harborlight.example/privacy', 'dev@harborlight.example',
          target.url, 'operator:olga']) {
          assert.ok(text.includes(s), `the app page shows ${s}`);
        }
        assert.equal(await page.textContent('td[data-question="sells_data"]'), 'No');
        assert.equal(await page.textContent('td[data-question="carin_code_of_conduct"]'), 'Yes');

        // Listed with status and registration date; the secret is not on the list.
        await page.goto(`${server.root}/admin`);
        const row = page.locator(`tr[data-client-id="${app.clientId}"]`);
        assert.match(await row.textContent(), new RegExp(APP_NAME));
        assert.match(await row.textContent(), /active/);
        assert.match(await row.textContent(), /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
        assert.ok(!(await page.content()).includes(app.secret));
        // Reloading the app page does not show the secret again.
        await page.click(`tr[data-client-id="${app.clientId}"] a`);
        await page.waitForSelector('#client-status');
        assert.equal(await page.$('#client-secret'), null);
        assert.deepEqual(problems, [], 'no CSP violations or page errors');
      } finally {
        await context.close();
      }
    });

  test('a member connects the app; suspending it in the page stops its token at once',
    async () => {
      assert.ok(app.clientId, 'the app was registered by the previous test');
      const member = await newPage(browser);
      try {
        const { verifier, challenge } = pkcePair();
        const q = new URLSearchParams({
          response_type: 'code', client_id: app.clientId, redirect_uri: target.url,
          scope: SCOPE, state: 'st-admin', aud: server.base, code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        await member.page.goto(`${server.root}/oauth/authorize?${q}`);
        const seen = await walkAuthorization(member.page, {
          username: MEMBER.username, password: MEMBER.password, redirectPrefix: target.url,
        });
        assert.ok(seen.consentText.includes(APP_NAME));
        const code = target.hits.at(-1).query.code;
        assert.ok(code);
        const r = await fetch(`${server.root}/oauth/token`, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Authorization: 'Basic ' +
              Buffer.from(`${app.clientId}:${app.secret}`).toString('base64'),
          },
          body: new URLSearchParams({
            grant_type: 'authorization_code', code, code_verifier: verifier,
            redirect_uri: target.url,
          }),
        });
        const tok = await r.json();
        assert.equal(r.status, 200, JSON.stringify(tok));
        app.token = tok.access_token;
        assert.equal(await fhirStatus(app.token), 200);
      } finally {
        await member.context.close();
      }

      const { context, page, problems } = await newPage(browser);
      try {
        await operatorSignIn(page);
        await page.click(`tr[data-client-id="${app.clientId}"] a`);
        await page.waitForSelector('button[value="suspend"]');
        await submit(page, 'button[value="suspend"]');
        assert.match(await page.textContent('#client-status'), /suspended/);
        assert.equal(await fhirStatus(app.token), 401, 'a suspended app\'s token stops at once');
        await page.goto(`${server.root}/admin`);
        assert.match(await page.locator(`tr[data-client-id="${app.clientId}"]`).textContent(),
          /suspended/);
        // Activate restores the member's grant.
        await page.click(`tr[data-client-id="${app.clientId}"] a`);
        await submit(page, 'button[value="activate"]');
        assert.match(await page.textContent('#client-status'), /active/);
        assert.equal(await fhirStatus(app.token), 200);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });

  test('the member sees the app at /oauth/manage, revokes it, and its token gets 401',
    async () => {
      assert.ok(app.token, 'the member connected the app in the previous test');
      const { context, page, problems } = await newPage(browser);
      try {
        await page.goto(`${server.root}/oauth/manage`);
        await page.fill('input[name="username"]', MEMBER.username);
        await page.fill('input[name="password"]', MEMBER.password);
        await submit(page, 'button[type="submit"]');
        assert.equal(new URL(page.url()).pathname, '/oauth/manage');
        // One live grant (a row with a Revoke button) for the app; the history lists it too.
        const row = page.locator('tr:has(button[name="revoke"])', { hasText: APP_NAME });
        assert.equal(await row.count(), 1, await page.textContent('body'));
        const text = await row.textContent();
        assert.match(text, /Daniel|born/);
        // Its access in plain words, when it was granted and last used, and when it expires.
        assert.match(text, /Read/);
        assert.ok((text.match(/\d{4}-\d\d-\d\d \d\d:\d\d/g) || []).length >= 3, text);
        const history = page.locator('h2:has-text("Access history") + table tr', {
          hasText: APP_NAME });
        assert.ok(await history.count() >= 1, await page.textContent('body'));
        await submit(page, `tr:has(button[name="revoke"]):has-text("${APP_NAME}") ` +
          'button[name="revoke"]');
        assert.match(await page.textContent('body'), /No app has access right now/);
        assert.equal(await fhirStatus(app.token), 401, 'a revoked grant\'s token stops at once');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
});
