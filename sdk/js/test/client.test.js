'use strict';
// The client against the in-process fake server, which verifies every signature with the
// independent reference (support/reference.js).

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('..');
const { setup, another, settle } = require('../support/setup');

const signed = (server) => server.log.filter((e) => e.nonce !== undefined);

test('login sends the code as JSON and keeps the tokens; GET /v1/me is signed and verified', async () => {
  const seen = [];
  const { client, server } = setup();
  const inner = server.handle;
  server.handle = null;
  const c = createClient({
    baseUrl: server.origin,
    platform: 'wechat',
    request: (req) => {
      seen.push(req);
      return inner(req);
    },
    login: async () => 'dev:alice',
  });
  assert.equal(c.isLoggedIn(), false);
  const result = await c.login();
  assert.deepEqual(result, { user: { id: 1, new: true }, expiresIn: 900 });
  assert.equal(JSON.stringify(result).includes('token'), false, 'no secret is handed back');
  assert.equal(seen[0].method, 'POST');
  assert.equal(seen[0].url, server.origin + '/v1/auth/wechat/login');
  assert.equal(seen[0].headers['Content-Type'], 'application/json');
  assert.equal(seen[0].body, '{"code":"dev:alice"}');
  assert.equal(seen[0].headers.Authorization, undefined);
  assert.equal(c.isLoggedIn(), true);

  const me = await c.request({ path: '/v1/me' });
  assert.equal(me.status, 200);
  assert.deepEqual(me.data, { user_id: 1 });
  assert.equal(server.signedOk, 1);
  const h = seen[1].headers;
  assert.match(h.Authorization, /^Bearer [A-Za-z0-9_-]{43}$/);
  assert.match(h['X-MG-Signature'], /^[A-Za-z0-9_-]{43}$/);
  assert.match(h['X-MG-Nonce'], /^[A-Za-z0-9_-]{22}$/);
  assert.match(h['X-MG-Timestamp'], /^[1-9][0-9]*$/);
  assert.equal(h['Content-Type'], undefined, 'no body, no content type');
  assert.equal(seen[1].body, '');
  void client;
});

test('timestamps follow the clock and every request has a fresh nonce', async () => {
  const { client, server, clock } = setup();
  await client.login();
  for (let i = 0; i < 5; i++) {
    clock.t += 1000;
    await client.request({ path: '/v1/me' });
  }
  const s = signed(server);
  assert.equal(s.length, 5);
  assert.equal(new Set(s.map((e) => e.nonce)).size, 5);
  assert.equal(s[4].timestamp, String(Math.floor(clock.t / 1000)));
  assert.equal(server.signedOk, 5);
});

test('a signed POST with JSON, a unicode path and an object query verifies on the server', async () => {
  const { client, server } = setup();
  await client.login();
  const data = { 备注: '你好 😀', n: [1, 2], s: 'a&b=c' };
  const res = await client.request({
    method: 'POST',
    path: '/v1/echo/文件 x',
    query: { q: 'x y+z', tag: ['b', 'a'], 名: '值', empty: null, skip: undefined },
    data,
  });
  assert.equal(res.status, 200);
  assert.equal(res.data.path, '/v1/echo/%E6%96%87%E4%BB%B6%20x');
  assert.equal(res.data.query, 'q=x%20y%2Bz&tag=b&tag=a&%E5%90%8D=%E5%80%BC&empty=');
  assert.equal(res.data.canonical_query, '%E5%90%8D=%E5%80%BC&empty=&q=x%20y%2Bz&tag=a&tag=b');
  assert.equal(res.data.body, JSON.stringify(data));
  assert.equal(server.signedOk, 1);
});

test('a raw query string is sent as given (non-ASCII escaped) and signed canonically', async () => {
  const { client, server } = setup();
  await client.login();
  const res = await client.request({ path: '/v1/echo', query: '?b=2&a=3&a=1&flag&q=x+y%2b&t=%7e&城=广州' });
  assert.equal(res.data.query, 'b=2&a=3&a=1&flag&q=x+y%2b&t=%7e&%E5%9F%8E=%E5%B9%BF%E5%B7%9E');
  assert.equal(res.data.canonical_query, '%E5%9F%8E=%E5%B9%BF%E5%B7%9E&a=1&a=3&b=2&flag=&q=x%20y%2B&t=~');
  // A JSON string body is sent byte for byte, not re-serialised.
  const raw = '{ "spaced" : true }';
  const echoed = await client.request({ method: 'PUT', path: '/v1/echo', data: raw });
  assert.equal(echoed.data.body, raw);
  assert.equal(server.signedOk, 2);
});

test('requests that cannot be signed are refused before anything is sent', async () => {
  const { client, server } = setup();
  await client.login();
  const before = server.log.length;
  const cases = [
    { path: '/v1/echo', query: 'a=%zz' },
    { path: '/v1/echo', query: 'a=1#frag' },
    { path: '/v1/echo?a=1' },
    { path: 'v1/echo' },
    { path: '/v1/\necho' },
    { method: 'GE T', path: '/v1/echo' },
    { path: '/v1/echo', query: 42 },
  ];
  for (const c of cases) {
    await assert.rejects(client.request(c), { code: 'invalid_request' }, JSON.stringify(c));
  }
  assert.equal(server.log.length, before);
});

test('error answers become MiniguardError with status, type and request id', async () => {
  const { client } = setup();
  await client.login();
  await assert.rejects(client.request({ path: '/v1/forbidden' }), (e) => {
    assert.equal(e.name, 'MiniguardError');
    assert.equal(e.code, 'http');
    assert.equal(e.status, 403);
    assert.equal(e.type, 'urn:miniguard:problem:forbidden');
    assert.equal(e.requestId, 'req-test');
    return true;
  });
  await assert.rejects(client.request({ path: '/v1/nothing' }), { code: 'http', status: 404 });
});

test('without a login nothing is sent', async () => {
  const { client, server } = setup();
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(server.log.length, 0);
});

test('a 401 on an expired token refreshes once and retries with a new nonce', async () => {
  const { client, server } = setup();
  await client.login();
  await client.request({ path: '/v1/me' });
  server.expireAccessTokens();
  const res = await client.request({ path: '/v1/me' });
  assert.equal(res.status, 200);
  assert.equal(server.refreshCalls, 1);
  const tail = server.log.slice(-3);
  assert.deepEqual(tail.map((e) => [e.path, e.status]), [
    ['/v1/me', 401],
    ['/v1/auth/refresh', 200],
    ['/v1/me', 200],
  ]);
  assert.notEqual(tail[0].nonce, tail[2].nonce);
  assert.equal(server.anyFamilyRevoked(), false, 'no refresh token was used twice');
});

test('an access token past its expiry is refreshed before the request is sent', async () => {
  const { client, server, clock } = setup();
  await client.login();
  clock.t += 900 * 1000;
  await client.request({ path: '/v1/me' });
  assert.equal(server.refreshCalls, 1);
  assert.deepEqual(server.log.slice(-2).map((e) => [e.path, e.status]), [
    ['/v1/auth/refresh', 200],
    ['/v1/me', 200],
  ]);
});

test('concurrent 401s share one refresh (single flight)', async () => {
  const { client, server } = setup();
  await client.login();
  server.expireAccessTokens();
  const release = server.holdRefreshes();
  const pending = [1, 2, 3, 4, 5].map(() => client.request({ path: '/v1/me' }));
  const all401 = await settle(() => server.log.filter((e) => e.status === 401).length === 5);
  assert.ok(all401, 'all five requests saw their 401 while the refresh was held');
  assert.equal(server.refreshCalls, 1);
  release();
  const results = await Promise.all(pending);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(server.refreshCalls, 1);
  assert.equal(server.anyFamilyRevoked(), false);
  const nonces = signed(server).map((e) => e.nonce);
  assert.equal(new Set(nonces).size, nonces.length, 'no nonce was reused');
});

test('concurrent requests after expiry share one proactive refresh', async () => {
  const { client, server, clock } = setup();
  await client.login();
  clock.t += 2000 * 1000;
  const results = await Promise.all([1, 2, 3, 4].map(() => client.request({ path: '/v1/me' })));
  assert.equal(results.length, 4);
  assert.equal(server.refreshCalls, 1);
  assert.equal(server.log.filter((e) => e.status === 401).length, 0);
});

test('a refused refresh ends the session: login_required, and nothing more is sent', async () => {
  const { client, server, clock } = setup();
  await client.login();
  const other = another(server, clock, 'alice');
  await other.login();
  await other.logoutAll();
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(client.isLoggedIn(), false);
  const count = server.log.length;
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(server.log.length, count);
  await client.login();
  assert.equal((await client.request({ path: '/v1/me' })).status, 200);
});

test('a lost refresh answer is never retried with the same token', async () => {
  const { server, clock } = setup();
  let refreshSent = 0;
  const c = createClient({
    baseUrl: server.origin,
    platform: 'wechat',
    now: clock.now,
    login: async () => 'dev:bob',
    request: async (req) => {
      if (req.url.endsWith('/v1/auth/refresh')) {
        refreshSent += 1;
        await server.handle(req); // the server spends the token...
        throw new Error('connection reset'); // ...but the answer never arrives
      }
      return server.handle(req);
    },
  });
  await c.login();
  clock.t += 1000 * 1000;
  await assert.rejects(c.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(refreshSent, 1);
  assert.equal(c.isLoggedIn(), false);
  await assert.rejects(c.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(refreshSent, 1);
  assert.equal(server.anyFamilyRevoked(), false, 'the spent token was not presented again');
});

test('a second 401 after the refresh is an error, not a loop', async () => {
  const { server, clock } = setup();
  const c = createClient({
    baseUrl: server.origin,
    platform: 'wechat',
    now: clock.now,
    login: async () => 'dev:carol',
    request: (req) => {
      if (req.headers['X-MG-Signature']) req.headers['X-MG-Signature'] = 'A'.repeat(43);
      return server.handle(req);
    },
  });
  await c.login();
  await assert.rejects(c.request({ path: '/v1/me' }), { code: 'http', status: 401 });
  assert.equal(server.refreshCalls, 1);
  assert.equal(server.log.filter((e) => e.status === 401).length, 2);
});

test('a skewed device clock is corrected from the server Date header', async () => {
  const { client, server } = setup();
  server.skewSecs = -3600; // the device is an hour ahead of the server
  await client.login();
  const res = await client.request({ path: '/v1/me' });
  assert.equal(res.status, 200);
  assert.equal(server.log.filter((e) => e.status === 401).length, 0);
  assert.equal(server.refreshCalls, 0);
});

test('logout revokes the login on the server and forgets it locally', async () => {
  const { client, server, clock } = setup();
  await client.login();
  const other = another(server, clock, 'alice');
  await other.login();
  await client.logout();
  assert.equal(client.isLoggedIn(), false);
  assert.deepEqual(server.log.slice(-1).map((e) => [e.path, e.status]), [['/v1/auth/logout', 204]]);
  await assert.rejects(client.request({ path: '/v1/me' }), { code: 'login_required' });
  // Only this login ended: the other device goes on.
  assert.equal((await other.request({ path: '/v1/me' })).status, 200);
  await client.logout(); // a second logout is a no-op
});

test('logout with an expired access token refreshes first, so the server really ends the login', async () => {
  const { client, server } = setup();
  await client.login();
  server.expireAccessTokens();
  await client.logout();
  assert.deepEqual(server.log.slice(-3).map((e) => [e.path, e.status]), [
    ['/v1/auth/logout', 401],
    ['/v1/auth/refresh', 200],
    ['/v1/auth/logout', 204],
  ]);
  assert.equal(server.anyFamilyRevoked(), true);
});

test('logoutAll ends every login of the user', async () => {
  const { client, server, clock } = setup();
  await client.login();
  const other = another(server, clock, 'alice');
  await other.login();
  const stranger = another(server, clock, 'dave');
  await stranger.login();
  await client.logoutAll();
  assert.equal(client.isLoggedIn(), false);
  await assert.rejects(other.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal((await stranger.request({ path: '/v1/me' })).status, 200);
});

test('login failures: a refused code and a platform login that gives none', async () => {
  const { server, clock } = setup();
  const reuse = createClient({ baseUrl: server.origin, platform: 'wechat', request: server.handle, now: clock.now, login: async () => 'dev:erin' });
  await reuse.login();
  await assert.rejects(reuse.login(), { code: 'http', status: 400, type: 'urn:miniguard:problem:invalid-login-code' });
  const none = createClient({ baseUrl: server.origin, platform: 'wechat', request: server.handle, api: { login: (o) => o.success({}) } });
  await assert.rejects(none.login(), { code: 'login_failed' });
  const failing = createClient({ baseUrl: server.origin, platform: 'wechat', request: server.handle, api: { login: (o) => o.fail({ errMsg: 'login:fail' }) } });
  await assert.rejects(failing.login(), (e) => e.code === 'login_failed' && /login:fail/.test(e.message));
});

test('plain http is refused, except loopback with dev: true', () => {
  const make = (baseUrl, dev) => createClient({ baseUrl, dev, platform: 'wechat', request: async () => ({ status: 200 }) });
  for (const url of [
    'http://api.example.com',
    'http://127.0.0.1:8443',
    'http://localhost',
    'HTTP://localhost',
    'ftp://api.example.com',
    'api.example.com',
    'https://user:pw@api.example.com',
    'https://api.example.com/?x=1',
    'https://api.example.com#f',
    '',
    undefined,
  ]) {
    assert.throws(() => make(url), { code: 'insecure_url' }, String(url));
  }
  for (const url of ['http://api.example.com', 'http://localhost.example.com', 'http://127.0.0.2', 'http://10.0.0.1:80']) {
    assert.throws(() => make(url, true), { code: 'insecure_url' }, url);
  }
  assert.throws(() => make('http://localhost', 'yes'), { code: 'insecure_url' });
  for (const url of ['http://127.0.0.1:8443', 'http://localhost', 'http://localhost:3000', 'http://[::1]:8443']) {
    assert.doesNotThrow(() => make(url, true), url);
  }
  for (const url of ['https://api.example.com', 'https://api.example.com:8443/base/', 'HTTPS://API.example.com']) {
    assert.doesNotThrow(() => make(url), url);
  }
});

test('a base URL path prefix is part of the signed path', async () => {
  // The fake is mounted under /api: it routes on the rest but verifies the full path it sees.
  const { server, clock } = setup({}, { origin: 'https://gw.example.test', mount: '/api' });
  const seen = [];
  const c = createClient({
    baseUrl: 'https://gw.example.test/api/',
    platform: 'wechat',
    now: clock.now,
    login: async () => 'dev:frank',
    request: (req) => {
      seen.push(req.url);
      return server.handle(req);
    },
  });
  await c.login();
  assert.equal(seen[0], 'https://gw.example.test/api/v1/auth/wechat/login');
  const res = await c.request({ path: '/v1/echo/x', query: 'a=1' });
  assert.equal(seen[1], 'https://gw.example.test/api/v1/echo/x?a=1');
  assert.equal(res.data.path, '/api/v1/echo/x');
  assert.equal(server.signedOk, 1);
});

test('platform is checked', () => {
  assert.throws(() => createClient({ baseUrl: 'https://a.example', platform: 'qq', request: async () => ({}) }), { code: 'invalid_request' });
});

test('an unreadable refresh answer ends the session instead of reusing the spent token', async () => {
  const { server, clock } = setup();
  const c = createClient({
    baseUrl: server.origin,
    platform: 'wechat',
    now: clock.now,
    login: async () => 'dev:ivan',
    request: async (req) => {
      const res = await server.handle(req);
      if (req.url.endsWith('/v1/auth/refresh')) res.body = '{"access_token": 1}';
      return res;
    },
  });
  await c.login();
  clock.t += 1000 * 1000;
  await assert.rejects(c.request({ path: '/v1/me' }), { code: 'login_required' });
  await assert.rejects(c.request({ path: '/v1/me' }), { code: 'login_required' });
  assert.equal(server.refreshCalls, 1);
  assert.equal(server.anyFamilyRevoked(), false);
});
