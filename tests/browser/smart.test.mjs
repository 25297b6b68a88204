// Real-browser and real-SMART-client tests of Portico's authorization server.
//
//  * Headless Debian Chromium (driven by playwright-core) walks a member and a delegate through
//    login, picker and consent, unticks a scope, lands on the app's redirect with a code; the
//    test exchanges the code and reads the patient with the token. A Deny run ends in
//    error=access_denied.
//  * fhirclient, SMART's own JavaScript client, running in Node as the app's server side,
//    completes a standalone launch against Portico (public client with PKCE, and a confidential
//    client with a secret), with the same Chromium standing in for the member.
//
// Run: PORTICO_BIN=/path/to/portico node --test smart.test.mjs   (after `npm ci` here)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import smart from 'fhirclient';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, PorticoServer, checkPrerequisites, closeServer, jwtClaims, listen,
  newPage, pkcePair, portico, startRedirectTarget, submit, tempDir, walkAuthorization,
} from './harness.mjs';

const SCOPE = 'launch/patient openid fhirUser offline_access patient/Patient.read ' +
  'patient/Observation.rs patient/Coverage.rs';
const APP_NAME = 'Blue Lantern Health Browser Test';
const CLIENT_ID = 'browser-app';
const CLIENT_SECRET = 'browser-app-secret-0123456789abcdef';
const SMART_PUBLIC_ID = 'fhirclient-public';
const SMART_CONF_ID = 'fhirclient-confidential';
const SMART_CONF_SECRET = 'fhirclient-secret-0123456789abcdef';
const USERS = {
  mia: { password: 'mia-password-1', patient: 'demo-member-3' },
  ava: { password: 'ava-password-1', patient: 'demo-member-1', represents: 'demo-member-2' },
};

let tmp;
let server;          // PorticoServer
let target;          // redirect target for the hand-written client
let smartApp;        // the fhirclient app server
let browser;

// ---- the fhirclient app: a plain Node http server using fhirclient's server-side API ---------

/**
 * Serves /launch (fhirclient's authorize()) and /app (fhirclient's ready()). Storage is a
 * per-app-instance Map (fhirclient's default expects an Express-style req.session).
 */
async function startSmartApp() {
  const store = new Map();
  const storage = {
    async get(k) { return store.get(k); },
    async set(k, v) { store.set(k, v); return v; },
    async unset(k) { return store.delete(k); },
  };
  const app = { store, readyWaiters: [] };
  app.server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    try {
      if (url.pathname === '/launch') {
        const confidential = url.searchParams.get('kind') === 'confidential';
        await smart(req, res, storage).authorize({
          iss: server.base,
          clientId: confidential ? SMART_CONF_ID : SMART_PUBLIC_ID,
          clientSecret: confidential ? SMART_CONF_SECRET : undefined,
          scope: SCOPE,
          redirectUri: '/app',
        });
        return;
      }
      if (url.pathname === '/app') {
        const client = await smart(req, res, storage).ready();
        app.readyWaiters.shift()?.resolve(client);
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<!DOCTYPE html><title>app ready</title><p id="ready">ready</p>');
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      app.readyWaiters.shift()?.reject(err);
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(err && err.stack || err));
    }
  });
  await listen(app.server);
  app.origin = `http://127.0.0.1:${app.server.address().port}`;
  app.nextClient = () => new Promise((resolve, reject) => {
    app.readyWaiters.push({ resolve, reject });
  });
  return app;
}

// ---- suite setup --------------------------------------------------------------------------

before(async () => {
  checkPrerequisites();
  tmp = tempDir('portico-browser-');
  const db = path.join(tmp, 'browser.db');
  const demo = path.join(tmp, 'demo.ndjson');
  portico(['generate', '--members', '4', '--out', demo]);
  portico(['import', '--db', `sqlite:${db}`, demo]);

  target = await startRedirectTarget();
  smartApp = await startSmartApp();

  portico(['client', 'add', '--db', `sqlite:${db}`, '--client-id', CLIENT_ID,
    '--redirect-uri', target.url, '--name', APP_NAME, '--secret-stdin'], CLIENT_SECRET);
  portico(['client', 'add', '--db', `sqlite:${db}`, '--client-id', SMART_PUBLIC_ID,
    '--redirect-uri', smartApp.origin + '/app', '--name', 'fhirclient public app', '--public']);
  portico(['client', 'add', '--db', `sqlite:${db}`, '--client-id', SMART_CONF_ID,
    '--redirect-uri', smartApp.origin + '/app', '--name', 'fhirclient confidential app',
    '--secret-stdin'], SMART_CONF_SECRET);
  for (const [username, u] of Object.entries(USERS)) {
    const args = ['user', 'add', '--db', `sqlite:${db}`, '--username', username,
      '--password-stdin', '--patient', u.patient];
    if (u.represents) args.push('--represents', u.represents);
    portico(args, u.password);
  }

  server = await PorticoServer.start(db);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  if (target) await closeServer(target.server);
  if (smartApp) await closeServer(smartApp.server);
  if (server) {
    const { code, signal, stderr } = await server.stop();
    // Under the ASan preset a sanitizer report makes the process fail; surface it here.
    assert.ok(!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderr),
      'portico reported a sanitizer error:\n' + stderr);
    assert.ok(code === 0 || signal === 'SIGTERM',
      `portico exited with ${code ?? signal}:\n${stderr}`);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- helpers --------------------------------------------------------------------------------

function authorizeUrl({ state, challenge, nonce }) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: target.url,
    scope: SCOPE,
    state,
    aud: server.base,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${server.root}/oauth/authorize?${q}`;
}

async function tokenRequest(form, basic) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (basic) {
    headers.Authorization = 'Basic ' + Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64');
  }
  const r = await fetch(`${server.root}/oauth/token`, {
    method: 'POST', headers, body: new URLSearchParams(form),
  });
  return { status: r.status, headers: r.headers, body: await r.json() };
}

async function fhirGet(pathAndQuery, token) {
  const r = await fetch(`${server.base}/${pathAndQuery}`, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' },
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

/**
 * One full authorization code flow in Chromium for `username`, then the token exchange and
 * reads with the token.
 */
async function browserFlow(username, { patient, expectPicker, untick, decision, onConsent,
  contextOptions }) {
  const u = USERS[username];
  const state = `st-${username}-${Date.now()}`;
  const nonce = `n-${username}`;
  const { verifier, challenge } = pkcePair();
  const { context, page, problems } = await newPage(browser, contextOptions);
  try {
    const hitsBefore = target.hits.length;
    await page.goto(authorizeUrl({ state, challenge, nonce }));
    const seen = await walkAuthorization(page, {
      username, password: u.password, patient, expectPicker, untick, decision,
      redirectPrefix: target.url, onConsent,
    });
    assert.equal(await page.textContent('#done'), 'done');
    assert.equal(target.hits.length, hitsBefore + 1, 'the redirect target was hit once');
    const query = target.hits.at(-1).query;
    assert.deepEqual(problems, [], 'no CSP violations or page errors');
    return { seen, query, state, nonce, verifier };
  } finally {
    await context.close();
  }
}

// ---- tests: a real browser against the pages -----------------------------------------------

describe('Chromium walks the authorization pages', () => {
  test('a member signs in, unticks Coverage, allows; the code gives a narrower token', async () => {
    // Set PORTICO_BROWSER_ARTIFACTS to keep the screenshot; otherwise it goes with the temp dir.
    const shots = process.env.PORTICO_BROWSER_ARTIFACTS || path.join(tmp, 'screenshots');
    fs.mkdirSync(shots, { recursive: true });
    const shot = path.join(shots, 'consent-mia.png');
    const { seen, query, state, nonce, verifier } = await browserFlow('mia', {
      expectPicker: false,
      untick: ['patient/Coverage.rs'],
      decision: 'allow',
      onConsent: async (page) => {
        await page.screenshot({ path: shot, fullPage: true });
        // What a person sees: the app's name, whose records, and the offline-access warning.
        const heading = await page.textContent('h1');
        assert.match(heading, new RegExp(APP_NAME));
        const note = await page.locator('.note').allTextContents();
        assert.ok(note.some((t) => /Long-lived access/.test(t) && /offline access/.test(t)),
          'offline-access warning is shown: ' + JSON.stringify(note));
        assert.ok(await page.isChecked('input[name="scope"][value="patient/Patient.read"]'));
        assert.ok(!await page.isChecked('input[name="scope"][value="patient/Coverage.rs"]'));
      },
    });
    const png = fs.readFileSync(shot);
    assert.ok(png.length > 1000, 'screenshot written');
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.match(seen.loginTitle, /Sign in/);
    assert.ok(seen.consentText.includes(APP_NAME), 'consent page names the app');
    for (const s of ['patient/Patient.read', 'patient/Observation.rs', 'patient/Coverage.rs']) {
      assert.ok(seen.consentScopes.includes(s), `consent offers ${s}: ${seen.consentScopes}`);
    }
    assert.ok(!seen.checkedScopes.includes('patient/Coverage.rs'));

    assert.equal(query.state, state);
    assert.ok(query.code, 'redirect carries a code: ' + JSON.stringify(query));
    assert.equal(query.error, undefined);

    const tok = await tokenRequest({
      grant_type: 'authorization_code', code: query.code, code_verifier: verifier,
      redirect_uri: target.url,
    }, [CLIENT_ID, CLIENT_SECRET]);
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.headers.get('cache-control'), 'no-store');
    const granted = tok.body.scope.split(' ');
    assert.ok(!granted.includes('patient/Coverage.rs'), 'Coverage was unticked: ' + granted);
    for (const s of ['patient/Patient.read', 'patient/Observation.rs', 'openid', 'fhirUser',
      'offline_access', 'launch/patient']) {
      assert.ok(granted.includes(s), `granted ${s}: ${granted}`);
    }
    assert.equal(tok.body.patient, 'demo-member-3');
    assert.equal(tok.body.token_type, 'Bearer');
    assert.ok(tok.body.refresh_token, 'offline_access gives a refresh token');
    const idt = jwtClaims(tok.body.id_token);
    assert.equal(idt.nonce, nonce);
    assert.equal(idt.aud, CLIENT_ID);
    assert.match(idt.fhirUser, /\/Patient\/demo-member-3$/);
    assert.equal(jwtClaims(tok.body.access_token).patient, 'demo-member-3');

    const token = tok.body.access_token;
    const pat = await fhirGet('Patient/demo-member-3', token);
    assert.equal(pat.status, 200);
    assert.equal(pat.body.resourceType, 'Patient');
    assert.equal(pat.body.id, 'demo-member-3');
    const obs = await fhirGet('Observation?patient=demo-member-3', token);
    assert.equal(obs.status, 200);
    assert.equal(obs.body.resourceType, 'Bundle');
    const cov = await fhirGet('Coverage?patient=demo-member-3', token);
    assert.equal(cov.status, 403, 'Coverage was not granted: ' + JSON.stringify(cov.body));
    assert.equal((await fhirGet('Patient/demo-member-1', token)).status, 404);

    // The code is single use.
    const again = await tokenRequest({
      grant_type: 'authorization_code', code: query.code, code_verifier: verifier,
      redirect_uri: target.url,
    }, [CLIENT_ID, CLIENT_SECRET]);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
  });

  test('a delegate picks the member they act for; the token is for that member', async () => {
    const { seen, query, state, verifier } = await browserFlow('ava', {
      patient: 'demo-member-2',
      expectPicker: true,
      untick: ['patient/Coverage.rs'],
      decision: 'allow',
      // The pages need no JavaScript.
      contextOptions: { javaScriptEnabled: false },
    });
    assert.deepEqual([...seen.pickerChoices].sort(), ['demo-member-1', 'demo-member-2']);
    assert.match(seen.pickerText, /Whose records/);
    assert.equal(query.state, state);
    assert.ok(query.code);

    const tok = await tokenRequest({
      grant_type: 'authorization_code', code: query.code, code_verifier: verifier,
      redirect_uri: target.url,
    }, [CLIENT_ID, CLIENT_SECRET]);
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.body.patient, 'demo-member-2');
    assert.ok(!tok.body.scope.split(' ').includes('patient/Coverage.rs'));
    const token = tok.body.access_token;
    const pat = await fhirGet('Patient/demo-member-2', token);
    assert.equal(pat.status, 200);
    assert.equal(pat.body.id, 'demo-member-2');
    assert.equal((await fhirGet('Coverage?patient=demo-member-2', token)).status, 403);
    assert.equal((await fhirGet('Patient/demo-member-3', token)).status, 404);
  });

  test('Deny sends the browser back with error=access_denied and the state', async () => {
    const { query, state } = await browserFlow('mia', { expectPicker: false, decision: 'deny' });
    assert.equal(query.error, 'access_denied');
    assert.equal(query.state, state);
    assert.equal(query.code, undefined);
  });

  test('Back after Allow cannot replay the consent into a second code', async () => {
    const { context, page, problems } = await newPage(browser);
    try {
      const { challenge } = pkcePair();
      const state = 'st-replay';
      await page.goto(authorizeUrl({ state, challenge, nonce: 'n' }));
      // The browser session cookie that ties the pages to this browser.
      const cookies = await context.cookies(`${server.root}/oauth/login`);
      assert.equal(cookies.length, 1, JSON.stringify(cookies));
      assert.equal(cookies[0].path, '/oauth');
      assert.equal(cookies[0].httpOnly, true);
      assert.equal(cookies[0].sameSite, 'Lax');
      await walkAuthorization(page, {
        username: 'mia', password: USERS.mia.password, redirectPrefix: target.url,
      });
      assert.equal(target.hits.filter((h) => h.query.state === state).length, 1);
      const resp = await page.goBack();
      if (await page.$('button[name="decision"][value="allow"]')) {
        // A cached copy of the form: posting it again must not produce another code.
        const post = await submit(page, 'button[name="decision"][value="allow"]');
        assert.equal(post.status(), 400);
      } else {
        assert.equal(resp.status(), 400);
      }
      assert.match(await page.textContent('body'), /Start again from the app/);
      assert.equal(target.hits.filter((h) => h.query.state === state).length, 1);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a wrong password keeps the browser on the login page with an error', async () => {
    const { context, page } = await newPage(browser);
    try {
      const { challenge } = pkcePair();
      await page.goto(authorizeUrl({ state: 'st-bad', challenge, nonce: 'n' }));
      await page.fill('input[name="username"]', 'mia');
      await page.fill('input[name="password"]', 'not-the-password');
      const resp = await submit(page, 'button[type="submit"]');
      assert.equal(resp.status(), 401);
      assert.equal(new URL(page.url()).pathname, '/oauth/login');
      assert.ok(await page.isVisible('[role="alert"]'));
      assert.equal(target.hits.filter((h) => h.query.state === 'st-bad').length, 0);
    } finally {
      await context.close();
    }
  });
});

// ---- tests: SMART's own JavaScript client --------------------------------------------------

describe('fhirclient (SMART JS client, Node) completes a standalone launch', () => {
  async function launch(kind, username, { patient, expectPicker }) {
    const u = USERS[username];
    const { context, page, problems } = await newPage(browser);
    try {
      const clientPromise = smartApp.nextClient();
      await page.goto(`${smartApp.origin}/launch?kind=${kind}`);
      // fhirclient redirected the browser to Portico's /oauth/authorize.
      await walkAuthorization(page, {
        username, password: u.password, patient, expectPicker,
        redirectPrefix: smartApp.origin + '/app', decision: 'allow',
      });
      const client = await clientPromise;
      await page.waitForSelector('#ready');
      assert.deepEqual(problems, []);
      return client;
    } finally {
      await context.close();
    }
  }

  test('public client with PKCE: member', async () => {
    const client = await launch('public', 'mia', { expectPicker: false });
    assert.equal(client.state.clientId, SMART_PUBLIC_ID);
    assert.ok(client.state.codeVerifier, 'fhirclient used PKCE (server advertises S256)');
    assert.equal(client.patient.id, 'demo-member-3');
    const patient = await client.patient.read();
    assert.equal(patient.resourceType, 'Patient');
    assert.equal(patient.id, 'demo-member-3');
    assert.equal(client.getFhirUser(), 'Patient/demo-member-3');
    assert.equal(client.getUserType(), 'Patient');
    const idToken = client.getIdToken();
    assert.equal(idToken.aud, SMART_PUBLIC_ID);
    const bundle = await client.request(`Observation?patient=${client.patient.id}`);
    assert.equal(bundle.resourceType, 'Bundle');
  });

  test('confidential client with a secret: delegate picks a member, then refreshes', async () => {
    const client = await launch('confidential', 'ava',
      { patient: 'demo-member-2', expectPicker: true });
    assert.equal(client.state.clientId, SMART_CONF_ID);
    assert.equal(client.patient.id, 'demo-member-2');
    const patient = await client.patient.read();
    assert.equal(patient.resourceType, 'Patient');
    assert.equal(patient.id, 'demo-member-2');
    assert.equal(client.getFhirUser(), 'Patient/demo-member-1');
    const granted = client.state.tokenResponse.scope.split(' ');
    assert.ok(granted.includes('patient/Coverage.rs'));
    assert.ok(client.state.tokenResponse.refresh_token);

    // fhirclient's refresh (grant_type=refresh_token with the client's Basic credentials).
    const oldToken = client.state.tokenResponse.access_token;
    await client.refresh();
    assert.notEqual(client.state.tokenResponse.access_token, oldToken);
    assert.equal(client.state.tokenResponse.patient ?? client.patient.id, 'demo-member-2');
    const again = await client.patient.read();
    assert.equal(again.id, 'demo-member-2');
    const coverage = await client.request(`Coverage?patient=${client.patient.id}`);
    assert.equal(coverage.resourceType, 'Bundle');
  });
});
