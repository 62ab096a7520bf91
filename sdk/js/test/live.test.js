'use strict';
// Optional: against a running `miniguard serve --dev`. Runs only when MINIGUARD_URL is set,
// e.g. MINIGUARD_URL=https://127.0.0.1:8443. The dev server's certificate is self-signed: trust
// it with MINIGUARD_CA_FILE=<the certificate file it prints> (used by this test's transport) or
// NODE_EXTRA_CA_CERTS=<same file> (Node's trust store). TLS is never switched off.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const { createClient, secureStorage } = require('..');

const url = process.env.MINIGUARD_URL;
const skip = url ? false : 'set MINIGUARD_URL to a running `miniguard serve --dev` to run';

function nodeTransport(caFile) {
  const ca = caFile ? fs.readFileSync(caFile) : undefined;
  return (req) =>
    new Promise((resolve, reject) => {
      const r = https.request(req.url, { method: req.method, headers: req.headers, ca }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.setTimeout(10000, () => r.destroy(new Error('timed out')));
      if (req.body !== '') r.write(req.body);
      r.end();
    });
}

test('live: login with a fresh dev:<name> code, signed GET /v1/me, storage round trip, logout', { skip }, async () => {
  const name = 'sdk' + Date.now().toString(36);
  const client = createClient({
    baseUrl: url,
    platform: 'wechat',
    request: nodeTransport(process.env.MINIGUARD_CA_FILE),
    login: async () => `dev:${name}`,
  });
  const { user } = await client.login();
  assert.equal(typeof user.id, 'number');
  const me = await client.request({ path: '/v1/me' });
  assert.equal(me.status, 200);
  assert.equal(me.data.user_id, user.id);

  const store = new Map();
  const box = secureStorage(client, { storage: { getItem: (k) => store.get(k), setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) } });
  await box.set('greeting', { text: '你好' });
  assert.match(store.get('greeting'), /^mg1\.[0-9]+\./);
  assert.deepEqual(await box.get('greeting'), { text: '你好' });
  // The same user's next login gets the same storage key, so the value still opens.
  await client.logout();
  const again = createClient({
    baseUrl: url,
    platform: 'wechat',
    request: nodeTransport(process.env.MINIGUARD_CA_FILE),
    login: async () => `dev:${name}:2`,
  });
  await again.login();
  const box2 = secureStorage(again, { storage: { getItem: (k) => store.get(k), setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) } });
  assert.deepEqual(await box2.get('greeting'), { text: '你好' });
  await again.logout();

  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'login_required' });
});

test('live: login with dev:alice, then a signed GET /v1/me', { skip }, async () => {
  const client = createClient({
    baseUrl: url,
    platform: 'wechat',
    request: nodeTransport(process.env.MINIGUARD_CA_FILE),
    login: async () => 'dev:alice',
  });
  try {
    await client.login();
  } catch (e) {
    // dev:alice works once per server run (like a real wx.login code); a rerun gets 400.
    if (e.code === 'http' && e.status === 400) return;
    throw e;
  }
  assert.equal((await client.request({ path: '/v1/me' })).status, 200);
  await client.logout();
});
