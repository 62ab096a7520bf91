'use strict';
// Randomness comes only from a CSPRNG: no Math.random anywhere, and a clear refusal without one.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const { createClient, secureStorage } = require('..');
const { setup } = require('../support/setup');

function withoutGlobalCrypto(fn) {
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    if (desc) Object.defineProperty(globalThis, 'crypto', desc);
    else delete globalThis.crypto;
  }
}

test('no CSPRNG at all: createClient refuses with no_csprng instead of using Math.random', () => {
  const random = Math.random;
  let used = 0;
  Math.random = () => {
    used += 1;
    return random();
  };
  try {
    withoutGlobalCrypto(() => {
      assert.equal(globalThis.crypto, undefined);
      assert.throws(
        () => createClient({ baseUrl: 'https://a.example', platform: 'wechat', request: async () => ({}), api: { login() {} } }),
        (e) => e.code === 'no_csprng' && /Math\.random/.test(e.message) && /getRandomValues/.test(e.message)
      );
    });
  } finally {
    Math.random = random;
  }
  assert.equal(used, 0);
});

test('without a platform source the global crypto.getRandomValues is used', async () => {
  const { client } = setup({ getRandomValues: undefined });
  await client.login();
  assert.equal((await client.request({ path: '/v1/me' })).status, 200);
});

test('a whole session never calls Math.random', async () => {
  const random = Math.random;
  Math.random = () => {
    throw new Error('Math.random was called');
  };
  try {
    const { client } = setup();
    await client.login();
    await client.request({ method: 'POST', path: '/v1/echo', data: { a: 1 } });
    const store = new Map();
    const box = secureStorage(client, { storage: { getItem: (k) => store.get(k), setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) } });
    await box.set('k', 'v');
    assert.equal(await box.get('k'), 'v');
    await client.logout();
  } finally {
    Math.random = random;
  }
});

test('the injected source is what the nonces come from', async () => {
  let calls = 0;
  const { client, server } = setup({
    getRandomValues: (a) => {
      calls += 1;
      return nodeCrypto.getRandomValues(a);
    },
  });
  await client.login();
  await client.request({ path: '/v1/me' });
  assert.equal(calls, 1);
  assert.equal(Buffer.from(server.log[1].nonce, 'base64url').length, 16);
});

test('a source that returns zeros is refused', async () => {
  const { client } = setup({ getRandomValues: (a) => a });
  await client.login();
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'no_csprng' });
});

test('the SDK source does not mention Math.random outside the refusal message', () => {
  const dir = path.join(__dirname, '..', 'src');
  for (const f of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const code = text.replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'/g, "''");
    assert.ok(!/Math\s*\.\s*random/.test(code), f);
  }
});
