'use strict';
// The miniguard client: login, signed requests, single-flight refresh, logout.

const { MiniguardError } = require('./errors');
const { isPairAt, utf8Encode, b64urlEncode, b64urlDecode } = require('./encoding');
const { signatureHeaders, canonicalQuery, encodeComponent } = require('./signing');
const { resolveRandom } = require('./random');
const { PLATFORMS, globalApi, platformTransport, platformLogin, platformStorage } = require('./platform');

/** Refresh this long before the access token's expiry, to absorb latency and small skew. */
const REFRESH_MARGIN_MS = 30 * 1000;
/** A server `Date` further than this from the local clock sets a clock correction. */
const CLOCK_SKEW_MS = 30 * 1000;
const NONCE_BYTES = 16;

/** Internals shared with secureStorage(), kept off the public client object. */
const internals = new WeakMap();

function parseBaseUrl(baseUrl, dev) {
  const m = typeof baseUrl === 'string' ? /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#@\s]+)(\/[^?#\s]*)?$/.exec(baseUrl) : null;
  if (!m) {
    throw new MiniguardError('insecure_url', 'baseUrl must look like https://host[:port][/prefix], without query, fragment or credentials');
  }
  const scheme = m[1].toLowerCase();
  const host = m[2];
  if (scheme === 'http') {
    const local = /^(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?$/i.test(host);
    if (!(dev === true && local)) {
      throw new MiniguardError(
        'insecure_url',
        'refusing plain http base URL ' + JSON.stringify(baseUrl) +
          ': use https (http is allowed only for 127.0.0.1, localhost or [::1] with dev: true)'
      );
    }
  } else if (scheme !== 'https') {
    throw new MiniguardError('insecure_url', 'baseUrl must use https');
  }
  return { origin: scheme + '://' + host, prefix: (m[3] || '').replace(/\/+$/, '') };
}

function invalid(message) {
  return new MiniguardError('invalid_request', message);
}

/** Percent-encodes what cannot go on the wire as is (non-ASCII, space); other text is kept. */
function escapeLoose(text, what) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw invalid(what + ' holds control characters');
    if (c === 0x23) throw invalid(what + ' must not hold "#"');
    if (c > 0x7e || c === 0x20) {
      const hi = isPairAt(text, i) ? 2 : 1;
      const bytes = utf8Encode(text.substr(i, hi));
      for (let k = 0; k < bytes.length; k++) out += '%' + (bytes[k] < 16 ? '0' : '') + bytes[k].toString(16).toUpperCase();
      i += hi - 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

function buildPath(prefix, path) {
  if (typeof path !== 'string' || path.charAt(0) !== '/') throw invalid('path must start with "/"');
  if (path.indexOf('?') >= 0) throw invalid('pass the query as `query`, not inside the path');
  return prefix + escapeLoose(path, 'path');
}

/** The raw query string to send: from a string (kept, non-ASCII escaped) or an object. */
function buildQuery(query) {
  if (query === undefined || query === null || query === '') return '';
  let raw;
  if (typeof query === 'string') {
    raw = escapeLoose(query.charAt(0) === '?' ? query.slice(1) : query, 'query');
  } else if (typeof query === 'object') {
    const parts = [];
    Object.keys(query).forEach((k) => {
      const v = query[k];
      const values = Array.isArray(v) ? v : [v];
      values.forEach((one) => {
        if (one === undefined) return;
        parts.push(encodeComponent(k) + '=' + encodeComponent(one === null ? '' : one));
      });
    });
    raw = parts.join('&');
  } else {
    throw invalid('query must be a string or an object');
  }
  canonicalQuery(raw); // throws now for a malformed escape, before anything is sent
  return raw;
}

function headerValue(headers, name) {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() === lower) {
      const v = headers[k];
      return Array.isArray(v) ? v.join(', ') : v;
    }
  }
  return undefined;
}

function parseBody(res) {
  const body = res.body;
  if (typeof body !== 'string') return body === undefined ? null : body;
  if (body === '') return null;
  const type = String(headerValue(res.headers, 'content-type') || '');
  if (/json/i.test(type)) {
    try {
      return JSON.parse(body);
    } catch (e) {
      throw new MiniguardError('invalid_response', 'the server sent malformed JSON', { status: res.status });
    }
  }
  return body;
}

function httpError(res, data) {
  const p = data && typeof data === 'object' ? data : {};
  const title = typeof p.title === 'string' ? p.title : 'HTTP ' + res.status;
  const retryAfter = headerValue(res.headers, 'retry-after');
  return new MiniguardError('http', 'miniguard: ' + res.status + ' ' + title, {
    status: res.status,
    type: typeof p.type === 'string' ? p.type : 'about:blank',
    title,
    detail: typeof p.detail === 'string' ? p.detail : undefined,
    requestId: p.request_id || headerValue(res.headers, 'x-request-id'),
    retryAfter: retryAfter !== undefined ? Number(retryAfter) : undefined,
  });
}

function loginRequired(why) {
  return new MiniguardError('login_required', 'miniguard: ' + why + '; call login() again');
}

/**
 * Creates a client.
 *
 * Options:
 * - `baseUrl`     `https://host[:port][/prefix]` (plain http only for 127.0.0.1/localhost/[::1]
 *                 and only with `dev: true`)
 * - `platform`    `'wechat' | 'alipay' | 'douyin'` (picks `wx` / `my` / `tt` and the login route)
 * - `request`     transport `({ url, method, headers, body }) => Promise<{ status, headers, body }>`;
 *                 default: the platform's `request`
 * - `storage`     `{ getItem, setItem, removeItem }` for secureStorage(); default: platform storage
 * - `getRandomValues` WebCrypto-shaped `(Uint8Array) => Uint8Array`; default: platform CSPRNG
 * - `now`         `() => milliseconds since the epoch`; default `Date.now`
 * - `login`       `() => Promise<code>`; default: `wx.login` / `my.getAuthCode` / `tt.login`
 * - `api`         the platform object to use instead of the global `wx` / `my` / `tt`
 * - `dev`         allow plain http to a loopback host (development only)
 */
function createClient(options) {
  const opts = options || {};
  if (PLATFORMS.indexOf(opts.platform) < 0) {
    throw new MiniguardError('invalid_request', 'platform must be one of ' + PLATFORMS.join(', '));
  }
  const platform = opts.platform;
  const base = parseBaseUrl(opts.baseUrl, opts.dev);
  const api = opts.api || globalApi(platform);
  const transport = opts.request || platformTransport(platform, api);
  if (typeof transport !== 'function') {
    throw new MiniguardError('transport', 'no request function: pass `request` or run inside the mini-program');
  }
  const random = resolveRandom(opts.getRandomValues, api);
  const now = typeof opts.now === 'function' ? opts.now : () => Date.now();
  const platformCode = typeof opts.login === 'function' ? opts.login : platformLogin(platform, api);

  let session = null; // { accessToken, refreshToken, signingKey, expiresAt, userId }
  let generation = 0; // bumps on every login/logout so a late refresh answer is ignored
  let refreshing = null;
  let clockOffset = 0;
  let storageKey = null;
  let storageKeyPending = null;

  function noteClock(res) {
    const date = headerValue(res.headers, 'date');
    const server = date ? Date.parse(date) : NaN;
    if (!isNaN(server)) {
      const offset = server - now();
      clockOffset = Math.abs(offset) > CLOCK_SKEW_MS ? offset : 0;
    }
  }

  async function send(method, path, query, body, headers) {
    const h = Object.assign({}, headers);
    if (body !== '') h['Content-Type'] = 'application/json';
    let res;
    try {
      res = await transport({ url: base.origin + path + (query ? '?' + query : ''), method, headers: h, body });
    } catch (e) {
      if (e instanceof MiniguardError) throw e;
      throw new MiniguardError('transport', 'request failed: ' + ((e && e.message) || String(e)));
    }
    if (!res || typeof res.status !== 'number') {
      throw new MiniguardError('invalid_response', 'the transport returned no status');
    }
    noteClock(res);
    return res;
  }

  function adopt(data, gen) {
    const signingKey = data && b64urlDecode(data.signing_key);
    if (
      !data || typeof data.access_token !== 'string' || data.access_token === '' ||
      typeof data.refresh_token !== 'string' || data.refresh_token === '' ||
      !signingKey || signingKey.length !== 32 ||
      typeof data.expires_in !== 'number' || !(data.expires_in > 0)
    ) {
      throw new MiniguardError('invalid_response', 'the token answer lacks access_token, refresh_token, signing_key or expires_in');
    }
    if (gen !== generation) return;
    session = {
      accessToken: data.access_token,
      refreshToken: data.refresh_token,
      signingKey,
      expiresAt: now() + data.expires_in * 1000,
      userId: data.user && data.user.id !== undefined ? data.user.id : session && session.userId,
    };
  }

  function forget() {
    generation++;
    session = null;
    storageKey = null;
    storageKeyPending = null;
  }

  async function login() {
    const code = await platformCode();
    const res = await send('POST', base.prefix + '/v1/auth/' + platform + '/login', '', JSON.stringify({ code }), {});
    const data = parseBody(res);
    if (res.status !== 200) throw httpError(res, data);
    forget();
    adopt(data, generation);
    const user = data.user && typeof data.user === 'object' ? { id: data.user.id, new: data.user.new } : undefined;
    return { user, expiresIn: data.expires_in };
  }

  async function doRefresh() {
    const current = session;
    if (!current) throw loginRequired('not logged in');
    const gen = generation;
    let res;
    try {
      res = await send('POST', base.prefix + '/v1/auth/refresh', '', JSON.stringify({ refresh_token: current.refreshToken }), {});
    } catch (e) {
      // The server may have spent the token; sending it again would revoke the login.
      if (gen === generation) forget();
      throw loginRequired('the refresh answer was lost (' + e.message + ')');
    }
    if (gen !== generation) return; // a login or logout happened meanwhile
    if (res.status === 200) {
      try {
        adopt(parseBody(res), gen);
      } catch (e) {
        // The old refresh token is spent and the answer unusable: only a new login helps.
        forget();
        throw loginRequired('the refresh answer was unreadable (' + e.message + ')');
      }
      return;
    }
    if (res.status === 429) {
      // Refused by the rate limit before the token was looked at: it is still good.
      throw httpError(res, safeBody(res));
    }
    forget();
    throw loginRequired('the server refused the refresh (' + res.status + ')');
  }

  function safeBody(res) {
    try {
      return parseBody(res);
    } catch (e) {
      return null;
    }
  }

  /** Single flight: every caller during a refresh waits for the same one. */
  function refreshSession() {
    if (!refreshing) {
      refreshing = doRefresh().then(
        (v) => {
          refreshing = null;
          return v;
        },
        (e) => {
          refreshing = null;
          throw e;
        }
      );
    }
    return refreshing;
  }

  async function sendSigned(s, method, path, query, body) {
    const timestamp = Math.floor((now() + clockOffset) / 1000);
    const nonce = b64urlEncode(await random(NONCE_BYTES));
    const headers = signatureHeaders(s.signingKey, { method, path, query, timestamp, nonce, body });
    headers.Authorization = 'Bearer ' + s.accessToken;
    return send(method, path, query, body, headers);
  }

  /**
   * A signed request. `{ method = 'GET', path, query, data }`: `query` a raw string or an object,
   * `data` an object (sent as JSON) or a JSON string. Resolves `{ status, headers, data }` for a
   * 2xx answer, otherwise throws a MiniguardError (`http` with `status` and `type`, or
   * `login_required` when the session is over).
   */
  async function request(req) {
    const r = req || {};
    const method = r.method === undefined ? 'GET' : r.method;
    if (typeof method !== 'string' || !/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(method)) {
      throw invalid('method is not a valid HTTP token');
    }
    const path = buildPath(base.prefix, r.path);
    const query = buildQuery(r.query);
    let body = '';
    if (r.data !== undefined && r.data !== null) {
      body = typeof r.data === 'string' ? r.data : JSON.stringify(r.data);
      if (typeof body !== 'string') throw invalid('data cannot be serialised as JSON');
    }
    if (!session) throw loginRequired('not logged in');
    if (now() >= session.expiresAt - REFRESH_MARGIN_MS) await refreshSession();
    let used = session;
    if (!used) throw loginRequired('not logged in');
    let res = await sendSigned(used, method, path, query, body);
    if (res.status === 401) {
      // The server does not say why; an expired token is the usual reason. Refresh once (or
      // wait for the refresh another request started) and retry with a new nonce.
      if (session === used) await refreshSession();
      else if (refreshing) await refreshing;
      used = session;
      if (!used) throw loginRequired('the session ended');
      res = await sendSigned(used, method, path, query, body);
    }
    const data = parseBody(res);
    if (res.status < 200 || res.status > 299) throw httpError(res, data);
    return { status: res.status, headers: res.headers || {}, data };
  }

  async function endSession(path) {
    if (!session) {
      forget();
      return;
    }
    try {
      await request({ method: 'POST', path });
    } catch (e) {
      if (e.code !== 'login_required') throw e;
    } finally {
      forget();
    }
  }

  async function fetchStorageKey() {
    if (storageKey) return storageKey;
    if (!storageKeyPending) {
      const gen = generation;
      storageKeyPending = request({ method: 'GET', path: '/v1/me/storage-key' }).then(
        (res) => {
          const d = res.data || {};
          const key = b64urlDecode(d.key);
          if (!key || key.length !== 32 || !Number.isSafeInteger(d.key_id) || d.key_id < 0) {
            throw new MiniguardError('invalid_response', 'the storage key answer is not {"key": <32 bytes base64url>, "key_id": <int>}');
          }
          const value = { key, keyId: d.key_id };
          if (gen === generation) {
            storageKey = value;
            storageKeyPending = null;
          }
          return value;
        },
        (e) => {
          if (gen === generation) storageKeyPending = null;
          throw e;
        }
      );
    }
    return storageKeyPending;
  }

  const client = {
    platform,
    login,
    request,
    /** Ends this login on the server (all its tokens) and forgets it locally. */
    logout: () => endSession('/v1/auth/logout'),
    /** Ends every login of the user on the server and forgets this one locally. */
    logoutAll: () => endSession('/v1/auth/logout-all'),
    /** Spends the refresh token now (normally automatic). */
    refresh: () => refreshSession(),
    isLoggedIn: () => session !== null,
  };
  internals.set(client, {
    random,
    storageKey: fetchStorageKey,
    storage: opts.storage || platformStorage(platform, api),
  });
  return client;
}

module.exports = { createClient, internals, parseBaseUrl, buildQuery, buildPath };
