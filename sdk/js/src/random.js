'use strict';
// Random bytes from the platform's CSPRNG only. There is deliberately no fallback to
// Math.random: without a secure source the SDK refuses to start.

const { MiniguardError } = require('./errors');

function noCsprng() {
  return new MiniguardError(
    'no_csprng',
    'miniguard-sdk: no cryptographically secure random source (wx/my/tt.getRandomValues or ' +
      'crypto.getRandomValues) is available; refusing to fall back to Math.random. Update the ' +
      'mini-program base library or pass getRandomValues to createClient.'
  );
}

function toBytes(value, n) {
  let bytes;
  if (value instanceof Uint8Array) bytes = value;
  else if (value instanceof ArrayBuffer) bytes = new Uint8Array(value);
  else if (value && value.buffer instanceof ArrayBuffer) {
    bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (!bytes || bytes.length !== n) {
    throw new MiniguardError('no_csprng', 'the random source returned the wrong number of bytes');
  }
  return bytes;
}

/** Callback-style platform API: `api.getRandomValues({ length, success({ randomValues }), fail })`. */
function fromPlatform(api) {
  return (n) =>
    new Promise((resolve, reject) => {
      api.getRandomValues({
        length: n,
        success: (res) => {
          try {
            resolve(toBytes(res && res.randomValues, n));
          } catch (e) {
            reject(e);
          }
        },
        fail: (err) =>
          reject(
            new MiniguardError(
              'no_csprng',
              'the platform random source failed: ' + ((err && err.errMsg) || String(err))
            )
          ),
      });
    });
}

/** WebCrypto shape: `getRandomValues(uint8array)` fills the array (may return a Promise). */
function fromWebCrypto(fill, self) {
  return async (n) => {
    const buf = new Uint8Array(n);
    const ret = await fill.call(self, buf);
    return ret === undefined || ret === buf ? buf : toBytes(ret, n);
  };
}

/**
 * Picks the random source: the injected `getRandomValues` (WebCrypto shape), else the platform
 * API's `getRandomValues` (callback shape), else `globalThis.crypto.getRandomValues`. Throws a
 * `no_csprng` error when none exists. The returned function resolves to `n` random bytes.
 */
function resolveRandom(getRandomValues, api) {
  let source;
  if (typeof getRandomValues === 'function') {
    source = fromWebCrypto(getRandomValues, undefined);
  } else if (api && typeof api.getRandomValues === 'function') {
    source = fromPlatform(api);
  } else {
    const g = typeof globalThis === 'object' ? globalThis : undefined;
    const c = g && g.crypto;
    if (c && typeof c.getRandomValues === 'function') source = fromWebCrypto(c.getRandomValues, c);
  }
  if (!source) throw noCsprng();
  return async (n) => {
    const bytes = await source(n);
    // A source that hands back only zeros is broken (chance 2^-128 for 16 bytes otherwise).
    let any = 0;
    for (let i = 0; i < bytes.length; i++) any |= bytes[i];
    if (n >= 16 && any === 0) {
      throw new MiniguardError('no_csprng', 'the random source returned only zero bytes');
    }
    return bytes;
  };
}

module.exports = { resolveRandom };
