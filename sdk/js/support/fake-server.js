'use strict';
// An in-process stand-in for `miniguard serve`, reached through the SDK's injectable transport.
// It follows docs/protocol.md: login per platform with `dev:<name>` codes (each usable once),
// single-use refresh tokens with reuse detection, logout routes, and signature checks in the
// protocol's order (token, headers, window, signature, nonce) using the independent reference.

const crypto = require('node:crypto');
const ref = require('./reference');

const WINDOW_SECS = 300;
const EXPIRES_IN = 900;

function problem(status, type, title) {
  return {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
    body: JSON.stringify({ type, title, status, request_id: 'req-test' }),
  };
}
const unauthorized = () =>
  problem(401, 'urn:miniguard:problem:unauthorized', 'A valid access token is required');

function json(status, value) {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) };
}

function createFakeServer(clock, options) {
  const opts = options || {};
  const origin = opts.origin || 'https://api.example.test';
  const mount = opts.mount || '';
  const users = new Map(); // name -> { id }
  const usedCodes = new Set();
  const access = new Map(); // token -> { userId, family, key, expiresAt, revoked, nonces:Set }
  const refresh = new Map(); // token -> { userId, family, spent }
  const revokedFamilies = new Set();
  const storageKeys = new Map(); // userId -> { key: Buffer, key_id }
  let familySeq = 0;
  let gate = null; // when set, refresh answers wait for it

  const server = {
    origin,
    log: [], // every request: { method, path, query, status, nonce, timestamp }
    refreshCalls: 0,
    signedOk: 0,
    skewSecs: 0, // added to the server's clock (Date header and window check)
    nowSecs: () => Math.floor(clock.now() / 1000) + server.skewSecs,
    /** Makes every access token issued so far expire now, on the server only. */
    expireAccessTokens() {
      for (const t of access.values()) t.expiresAt = server.nowSecs() - 1;
    },
    /** Holds refresh answers until the returned release() is called. */
    holdRefreshes() {
      let release;
      gate = new Promise((r) => {
        release = r;
      });
      return () => {
        gate = null;
        release();
      };
    },
    setStorageKey(userName, key, keyId) {
      storageKeys.set(users.get(userName).id, { key, key_id: keyId });
    },
    familyRevoked(family) {
      return revokedFamilies.has(family);
    },
    anyFamilyRevoked: () => revokedFamilies.size > 0,
    handle,
  };

  function issue(userId, family) {
    const accessToken = crypto.randomBytes(32).toString('base64url');
    const refreshToken = crypto.randomBytes(32).toString('base64url');
    const key = crypto.randomBytes(32);
    access.set(accessToken, {
      userId,
      family,
      key,
      expiresAt: server.nowSecs() + EXPIRES_IN,
      nonces: new Set(),
    });
    refresh.set(refreshToken, { userId, family, spent: false });
    return {
      token_type: 'Bearer',
      access_token: accessToken,
      expires_in: EXPIRES_IN,
      refresh_token: refreshToken,
      refresh_expires_in: 2592000,
      signing_key: key.toString('base64url'),
    };
  }

  function header(headers, name) {
    for (const k of Object.keys(headers || {})) if (k.toLowerCase() === name) return headers[k];
    return undefined;
  }

  function jsonBody(req) {
    if (header(req.headers, 'content-type') !== 'application/json') {
      return { error: problem(415, 'about:blank', 'Unsupported Media Type') };
    }
    try {
      return { value: JSON.parse(req.body) };
    } catch (e) {
      return { error: problem(400, 'about:blank', 'Bad Request') };
    }
  }

  /** protocol.md "What the server checks", in that order; returns the session or null. */
  function authenticate(req, path, query) {
    const auth = header(req.headers, 'authorization');
    const m = /^Bearer (.+)$/.exec(auth || '');
    const t = m && access.get(m[1]);
    if (!t || t.expiresAt <= server.nowSecs() || revokedFamilies.has(t.family)) return null;
    const ts = header(req.headers, 'x-mg-timestamp');
    const nonce = header(req.headers, 'x-mg-nonce');
    const sig = header(req.headers, 'x-mg-signature');
    if (typeof ts !== 'string' || !/^(0|[1-9][0-9]*)$/.test(ts)) return null;
    const nonceBytes = ref.fromB64url(nonce);
    if (!nonceBytes || nonceBytes.length < 16 || nonceBytes.length > 64) return null;
    const sigBytes = ref.fromB64url(sig);
    if (!sigBytes || sigBytes.length !== 32) return null;
    if (Math.abs(server.nowSecs() - Number(ts)) > WINDOW_SECS) return null;
    let expected;
    try {
      expected = Buffer.from(
        ref.signature(t.key, { method: req.method, path, query, timestamp: ts, nonce, body: req.body }),
        'base64url'
      );
    } catch (e) {
      return null; // malformed query
    }
    if (!crypto.timingSafeEqual(expected, sigBytes)) return null;
    if (t.nonces.has(nonce)) return null;
    t.nonces.add(nonce);
    server.signedOk += 1;
    return t;
  }

  async function route(req, fullPath, query) {
    if (!fullPath.startsWith(mount + '/')) return problem(404, 'about:blank', 'Not Found');
    const path = fullPath.slice(mount.length);
    const login = /^\/v1\/auth\/(wechat|alipay|douyin)\/login$/.exec(path);
    if (login && req.method === 'POST') {
      const b = jsonBody(req);
      if (b.error) return b.error;
      const code = b.value && b.value.code;
      const cm = typeof code === 'string' && /^dev:([a-z0-9_]+)(:[0-9]+)?$/.exec(code);
      if (!cm || Object.keys(b.value).length !== 1) return problem(400, 'about:blank', 'Bad Request');
      const key = login[1] + ':' + code;
      if (usedCodes.has(key)) {
        return problem(400, 'urn:miniguard:problem:invalid-login-code', 'The login code was refused');
      }
      usedCodes.add(key);
      let user = users.get(cm[1]);
      const created = !user;
      if (!user) {
        user = { id: users.size + 1 };
        users.set(cm[1], user);
      }
      familySeq += 1;
      return json(200, Object.assign(issue(user.id, familySeq), { user: { id: user.id, new: created } }));
    }
    if (path === '/v1/auth/refresh' && req.method === 'POST') {
      server.refreshCalls += 1;
      if (gate) await gate;
      const b = jsonBody(req);
      if (b.error) return b.error;
      const r = refresh.get(b.value && b.value.refresh_token);
      if (!r || revokedFamilies.has(r.family)) return unauthorized();
      if (r.spent) {
        revokedFamilies.add(r.family); // reuse: the whole login ends
        return unauthorized();
      }
      r.spent = true;
      return json(200, issue(r.userId, r.family));
    }
    const t = authenticate(req, fullPath, query);
    if (!t) return unauthorized();
    if (path === '/v1/me' && req.method === 'GET') return json(200, { user_id: t.userId });
    if (path === '/v1/me/storage-key' && req.method === 'GET') {
      let k = storageKeys.get(t.userId);
      if (!k) {
        k = { key: crypto.randomBytes(32), key_id: 1 };
        storageKeys.set(t.userId, k);
      }
      return json(200, { key: k.key.toString('base64url'), key_id: k.key_id });
    }
    if (path === '/v1/auth/logout' && req.method === 'POST') {
      revokedFamilies.add(t.family);
      return { status: 204, headers: {}, body: '' };
    }
    if (path === '/v1/auth/logout-all' && req.method === 'POST') {
      for (const a of access.values()) if (a.userId === t.userId) revokedFamilies.add(a.family);
      return { status: 204, headers: {}, body: '' };
    }
    if (path.startsWith('/v1/echo')) {
      if (req.body !== '' && header(req.headers, 'content-type') !== 'application/json') {
        return problem(415, 'about:blank', 'Unsupported Media Type');
      }
      return json(200, { method: req.method, path: fullPath, query, canonical_query: ref.canonicalQuery(query), body: req.body });
    }
    if (path === '/v1/forbidden') return problem(403, 'urn:miniguard:problem:forbidden', 'Forbidden');
    return problem(404, 'about:blank', 'Not Found');
  }

  /** The transport the SDK is given: `({ url, method, headers, body }) => { status, headers, body }`. */
  async function handle(req) {
    if (!req.url.startsWith(origin + '/')) throw new Error('unexpected origin: ' + req.url);
    if (typeof req.body !== 'string') throw new Error('the SDK must send the body as text');
    const rest = req.url.slice(origin.length);
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    const query = q < 0 ? '' : rest.slice(q + 1);
    const res = await route(req, path, query);
    res.headers.Date = new Date(server.nowSecs() * 1000).toUTCString();
    server.log.push({
      method: req.method,
      path,
      query,
      status: res.status,
      nonce: header(req.headers, 'x-mg-nonce'),
      timestamp: header(req.headers, 'x-mg-timestamp'),
    });
    return res;
  }

  return server;
}

/** A settable clock in milliseconds. */
function createClock(startMs) {
  const clock = { t: startMs === undefined ? 1_700_000_000_000 : startMs, now: () => clock.t };
  return clock;
}

module.exports = { createFakeServer, createClock };
