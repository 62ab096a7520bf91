'use strict';
// The wx / my / tt adapters: request, login code, random bytes and storage, through fake
// platform objects that behave like the mini-program APIs (callbacks, their field names).

const test = require('node:test');
const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const { createClient, secureStorage } = require('..');
const { createFakeServer, createClock } = require('../support/fake-server');

/** A platform object in the style of `wx` (WeChat) or `tt` (Douyin). */
function fakeWx(server, user, calls) {
  const storage = new Map();
  let n = 0;
  return {
    storage,
    login(o) {
      calls.push('login');
      setImmediate(() => o.success({ code: `dev:${user}:${++n}`, errMsg: 'login:ok' }));
    },
    request(o) {
      calls.push('request');
      assert.equal(o.dataType, 'text');
      assert.equal(typeof o.header, 'object');
      assert.ok(o.data === undefined || typeof o.data === 'string');
      server
        .handle({ url: o.url, method: o.method, headers: o.header, body: o.data === undefined ? '' : o.data })
        .then((res) => o.success({ statusCode: res.status, header: res.headers, data: res.body }), o.fail);
    },
    getRandomValues(o) {
      calls.push('random');
      setImmediate(() => o.success({ randomValues: nodeCrypto.randomBytes(o.length).buffer }));
    },
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, v),
    removeStorageSync: (k) => storage.delete(k),
  };
}

/** A platform object in the style of `my` (Alipay): getAuthCode, `headers`, `status`, object storage calls. */
function fakeMy(server, user, calls) {
  const storage = new Map();
  let n = 0;
  return {
    storage,
    getAuthCode(o) {
      calls.push('getAuthCode');
      assert.equal(o.scopes, 'auth_base');
      setImmediate(() => o.success({ authCode: `dev:${user}:${++n}` }));
    },
    request(o) {
      calls.push('request');
      assert.equal(typeof o.headers, 'object');
      server
        .handle({ url: o.url, method: o.method, headers: o.headers, body: o.data === undefined ? '' : o.data })
        .then((res) => o.success({ status: res.status, headers: res.headers, data: res.body }), o.fail);
    },
    getRandomValues(o) {
      setImmediate(() => o.success({ randomValues: nodeCrypto.randomBytes(o.length).buffer }));
    },
    getStorageSync: ({ key }) => ({ data: storage.has(key) ? storage.get(key) : null }),
    setStorageSync: ({ key, data }) => storage.set(key, data),
    removeStorageSync: ({ key }) => storage.delete(key),
  };
}

for (const [platform, make] of [
  ['wechat', fakeWx],
  ['douyin', fakeWx],
  ['alipay', fakeMy],
]) {
  test(`${platform}: login, signed request and storage through the platform API`, async () => {
    const clock = createClock();
    const server = createFakeServer(clock);
    const calls = [];
    const api = make(server, 'alice', calls);
    const client = createClient({ baseUrl: server.origin, platform, api, now: clock.now });
    await client.login();
    assert.equal(server.log[0].path, `/v1/auth/${platform}/login`);
    const me = await client.request({ path: '/v1/me' });
    assert.deepEqual(me.data, { user_id: 1 });
    const echo = await client.request({ method: 'POST', path: '/v1/echo', data: { 城市: '广州' } });
    assert.equal(echo.data.body, '{"城市":"广州"}');
    assert.equal(server.signedOk, 2);
    assert.ok(calls.includes('random') || platform === 'alipay', 'the platform CSPRNG was used');
    const box = secureStorage(client);
    await box.set('k', { v: 1 });
    assert.match(api.storage.get('k'), /^mg1\.1\./);
    assert.deepEqual(await box.get('k'), { v: 1 });
    assert.equal(await box.get('absent'), null);
    await box.remove('k');
    assert.equal(api.storage.has('k'), false);
    await client.logout();
    assert.equal(server.log[server.log.length - 1].status, 204);
  });
}

test('the global wx object is found when no api is given', async () => {
  const clock = createClock();
  const server = createFakeServer(clock);
  const calls = [];
  globalThis.wx = fakeWx(server, 'gina', calls);
  try {
    const client = createClient({ baseUrl: server.origin, platform: 'wechat', now: clock.now });
    await client.login();
    await client.request({ path: '/v1/me' });
    assert.deepEqual(calls.slice(0, 2), ['login', 'request']);
    assert.ok(calls.includes('random'));
  } finally {
    delete globalThis.wx;
  }
});

test('a request failure and a random source failure become clear errors', async () => {
  const clock = createClock();
  const server = createFakeServer(clock);
  const api = fakeWx(server, 'hank', []);
  const client = createClient({ baseUrl: server.origin, platform: 'wechat', api, now: clock.now });
  await client.login();
  api.request = (o) => o.fail({ errMsg: 'request:fail ssl hand shake error' });
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'transport', message: /ssl hand shake/ });
  api.getRandomValues = (o) => o.fail({ errMsg: 'getRandomValues:fail' });
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'no_csprng', message: /getRandomValues:fail/ });
  api.getRandomValues = (o) => o.success({ randomValues: new ArrayBuffer(3) });
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'no_csprng' });
});
