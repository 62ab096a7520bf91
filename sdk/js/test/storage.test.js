'use strict';
// secureStorage(): AES-256-GCM values under the per-user key from GET /v1/me/storage-key.

const test = require('node:test');
const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const { secureStorage, createClient } = require('..');
const { setup, another } = require('../support/setup');

function memoryStore() {
  const map = new Map();
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : ''), // like wx.getStorageSync: '' when absent
    setItem: (k, v) => map.set(k, v),
    removeItem: (k) => map.delete(k),
  };
}

async function ready(user) {
  const ctx = setup({ user });
  await ctx.client.login();
  const store = memoryStore();
  return Object.assign(ctx, { store, box: secureStorage(ctx.client, { storage: store }) });
}

/** Opens a stored value with Node's own AES-GCM, as an independent check of the format. */
function openWithNode(keyBuf, name, text) {
  const [v, , nonce, sealed] = text.split('.');
  assert.equal(v, 'mg1');
  const data = Buffer.from(sealed, 'base64url');
  const d = nodeCrypto.createDecipheriv('aes-256-gcm', keyBuf, Buffer.from(nonce, 'base64url'));
  d.setAAD(Buffer.from(name, 'utf8'));
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString('utf8');
}

test('round trip of JSON values, unicode included; absent names read as null', async () => {
  const { box } = await ready();
  const values = [{ openid: 'o-1', 备注: '你好 😀', n: [1, 2.5, true, null] }, 'text', 42, [], false];
  for (const [i, v] of values.entries()) {
    await box.set('k' + i, v);
    assert.deepEqual(await box.get('k' + i), v);
  }
  assert.equal(await box.get('missing'), null);
  await box.remove('k0');
  assert.equal(await box.get('k0'), null);
});

test('stored text is mg1.<key_id>.<nonce>.<ciphertext>, opens with a standard AES-GCM, and never repeats', async () => {
  const { box, store, server } = await ready();
  const key = nodeCrypto.randomBytes(32);
  server.setStorageKey('alice', key, 7);
  await box.set('profile', { a: 1 });
  const text = store.map.get('profile');
  assert.match(text, /^mg1\.7\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.equal(openWithNode(key, 'profile', text), '{"a":1}');
  assert.ok(!text.includes(key.toString('base64url')));
  await box.set('profile', { a: 1 });
  const again = store.map.get('profile');
  assert.notEqual(again, text);
  assert.notEqual(again.split('.')[2], text.split('.')[2], 'a fresh nonce per write');
  // Only the values are stored: no key, no token.
  assert.deepEqual([...store.map.keys()], ['profile']);
});

test('the storage key is fetched once (signed) and kept in memory', async () => {
  const { box, server } = await ready();
  await box.set('a', 1);
  await box.set('b', 2);
  await box.get('a');
  const fetched = server.log.filter((e) => e.path === '/v1/me/storage-key');
  assert.equal(fetched.length, 1);
  assert.equal(fetched[0].status, 200);
  assert.ok(fetched[0].nonce, 'the key request was signed');
});

test('a tampered value fails with storage_tampered, never garbage', async () => {
  const { box, store } = await ready();
  await box.set('token', { secret: 'abc' });
  const good = store.map.get('token');
  const [v, id, nonce, sealed] = good.split('.');
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const tampered = [
    [v, id, nonce, flip(sealed, 0)].join('.'),
    [v, id, nonce, flip(sealed, sealed.length - 3)].join('.'),
    [v, id, flip(nonce, 2), sealed].join('.'),
    [v, id, nonce, sealed.slice(0, -4)].join('.'),
  ];
  for (const t of tampered) {
    store.map.set('token', t);
    await assert.rejects(box.get('token'), (e) => e.code === 'storage_tampered' || e.code === 'storage_format', t);
  }
  store.map.set('token', tampered[0]);
  await assert.rejects(box.get('token'), { code: 'storage_tampered', message: /"token" failed authentication/ });
  store.map.set('token', good);
  assert.deepEqual(await box.get('token'), { secret: 'abc' });
});

test('a value moved to another name fails (the name is the associated data)', async () => {
  const { box, store } = await ready();
  await box.set('is_admin', false);
  await box.set('is_vip', true);
  store.map.set('is_admin', store.map.get('is_vip'));
  await assert.rejects(box.get('is_admin'), { code: 'storage_tampered' });
  assert.equal(await box.get('is_vip'), true);
});

test('a value sealed under another key id fails with storage_wrong_key', async () => {
  const { box, store, server, client } = await ready();
  await box.set('x', 'old');
  server.setStorageKey('alice', nodeCrypto.randomBytes(32), 2);
  await client.login(); // a new login forgets the cached key
  await assert.rejects(box.get('x'), (e) => {
    assert.equal(e.code, 'storage_wrong_key');
    assert.equal(e.keyId, 1);
    assert.equal(e.currentKeyId, 2);
    return true;
  });
  await box.set('x', 'new');
  assert.equal(await box.get('x'), 'new');
  assert.match(store.map.get('x'), /^mg1\.2\./);
});

test("another user's key (same key id) cannot open the value", async () => {
  const { box, store, server, clock } = await ready('alice');
  await box.set('secret', 'alice only');
  const bob = another(server, clock, 'bob');
  await bob.login();
  const bobBox = secureStorage(bob, { storage: store });
  await assert.rejects(bobBox.get('secret'), { code: 'storage_tampered' });
});

test('malformed stored text fails with storage_format', async () => {
  const { box, store } = await ready();
  const bad = ['hello', 'mg2.1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 'mg1.x.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 'mg1.01.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA', 'mg1.1.AAAA.AAAAAAAAAAAAAAAAAAAAAA', 'mg1.1.AAAAAAAAAAAAAAAA.AAAA', 'mg1.1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.x', 12];
  for (const b of bad) {
    store.map.set('v', b);
    await assert.rejects(box.get('v'), { code: 'storage_format' }, String(b));
  }
});

test('without a login the key cannot be had; logout forgets it', async () => {
  const { box, client, server } = await ready();
  await box.set('a', 1);
  await client.logout();
  await assert.rejects(box.get('a'), { code: 'login_required' });
  await assert.rejects(box.set('b', 2), { code: 'login_required' });
  await client.login();
  assert.equal(await box.get('a'), 1);
  assert.equal(server.log.filter((e) => e.path === '/v1/me/storage-key').length, 2);
});

test('bad names, unstorable values and a broken platform storage give clear errors', async () => {
  const { box, client } = await ready();
  await assert.rejects(box.set('', 1), { code: 'invalid_request' });
  await assert.rejects(box.get(5), { code: 'invalid_request' });
  await assert.rejects(box.set('u', undefined), { code: 'invalid_request' });
  const broken = secureStorage(client, {
    storage: { getItem: () => { throw { errMsg: 'getStorageSync:fail' }; }, setItem: () => {}, removeItem: () => {} },
  });
  await assert.rejects(broken.get('a'), { code: 'storage', message: /getStorageSync:fail/ });
  assert.throws(() => secureStorage({}), { code: 'invalid_request' });
  const noStore = createClient({ baseUrl: 'https://a.example', platform: 'wechat', request: async () => ({}) });
  assert.throws(() => secureStorage(noStore), { code: 'storage' });
});

test('an authenticated value that is not JSON is reported, not returned', async () => {
  const { box, store, server } = await ready();
  const key = nodeCrypto.randomBytes(32);
  server.setStorageKey('alice', key, 3);
  const nonce = nodeCrypto.randomBytes(12);
  const c = nodeCrypto.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from('n', 'utf8'));
  const sealed = Buffer.concat([c.update('not json', 'utf8'), c.final(), c.getAuthTag()]);
  store.map.set('n', `mg1.3.${nonce.toString('base64url')}.${sealed.toString('base64url')}`);
  await assert.rejects(box.get('n'), { code: 'storage_format' });
  // The same construction with JSON opens: the format matches Node's AES-GCM exactly.
  const c2 = nodeCrypto.createCipheriv('aes-256-gcm', key, nonce);
  c2.setAAD(Buffer.from('n', 'utf8'));
  const ok = Buffer.concat([c2.update('{"x":1}', 'utf8'), c2.final(), c2.getAuthTag()]);
  store.map.set('n', `mg1.3.${nonce.toString('base64url')}.${ok.toString('base64url')}`);
  assert.deepEqual(await box.get('n'), { x: 1 });
});
