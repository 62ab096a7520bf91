'use strict';
// The signed-request scheme of docs/protocol.md ("Signed requests"): HMAC-SHA256 over a
// six-line canonical request, keyed with the 32 bytes of the session's signing_key.

const { sha256 } = require('@noble/hashes/sha2');
const { hmac } = require('@noble/hashes/hmac');
const { MiniguardError } = require('./errors');
const { isPairAt, utf8Encode, b64urlEncode, b64urlDecode, hex } = require('./encoding');

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MIN_NONCE_BYTES = 16;
const MAX_NONCE_BYTES = 64;

function invalid(message) {
  return new MiniguardError('invalid_request', message);
}

function isHex(c) {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isUnreserved(b) {
  return (
    (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) ||
    b === 45 || b === 46 || b === 95 || b === 126
  );
}

/** Form-decodes one key or value into bytes: `+` is a space, `%XX` a byte. */
function formDecode(text) {
  const out = [];
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 37 /* % */) {
      const h1 = text.charCodeAt(i + 1);
      const h2 = text.charCodeAt(i + 2);
      // charCodeAt past the end is NaN, which is not a hex digit.
      if (!isHex(h1) || !isHex(h2)) throw invalid('query string has a malformed percent escape');
      out.push(parseInt(text.substr(i + 1, 2), 16));
      i += 3;
    } else if (c === 43 /* + */) {
      out.push(32);
      i++;
    } else {
      // One code point (a surrogate pair stays together) as UTF-8.
      const hi = isPairAt(text, i) ? 2 : 1;
      const bytes = utf8Encode(text.substr(i, hi));
      for (let k = 0; k < bytes.length; k++) out.push(bytes[k]);
      i += hi;
    }
  }
  return out;
}

/** Encodes bytes with every byte but `A-Z a-z 0-9 - . _ ~` as upper-case `%XX`. */
function strictEncode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += isUnreserved(b) ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

/** RFC 3986 strict encoding of a JS string's UTF-8 bytes (used to build query strings). */
function encodeComponent(str) {
  return strictEncode(utf8Encode(String(str)));
}

/**
 * The canonical query of a raw query string (protocol.md, "Query canonicalisation"). Throws an
 * `invalid_request` error for a `%` not followed by two hex digits.
 */
function canonicalQuery(raw) {
  if (raw === undefined || raw === null || raw === '') return '';
  if (typeof raw !== 'string') throw invalid('the raw query must be a string');
  const pairs = [];
  const params = raw.split('&');
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === '') continue;
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    pairs.push([strictEncode(formDecode(k)), strictEncode(formDecode(v))]);
  }
  // Encoded text is ASCII, so comparing UTF-16 code units compares bytes.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map((p) => p[0] + '=' + p[1]).join('&');
}

const TCHAR = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

function checkMethod(method) {
  if (typeof method !== 'string' || !TCHAR.test(method)) {
    throw invalid('request method is not a valid HTTP token');
  }
}

function checkPath(path) {
  if (typeof path !== 'string' || path.charAt(0) !== '/') {
    throw invalid('request path must start with "/"');
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw invalid('request path holds whitespace or control characters');
  }
}

function timestampText(timestamp) {
  if (typeof timestamp === 'number') {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw invalid('timestamp must be unix seconds');
    return String(timestamp);
  }
  if (typeof timestamp === 'string' && /^(0|[1-9][0-9]*)$/.test(timestamp)) return timestamp;
  throw invalid('timestamp must be plain decimal unix seconds');
}

function checkNonce(nonce) {
  const bytes = b64urlDecode(nonce);
  if (!bytes || bytes.length < MIN_NONCE_BYTES || bytes.length > MAX_NONCE_BYTES) {
    throw invalid('nonce must be 16 to 64 bytes of base64url without padding');
  }
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return utf8Encode(body);
  if (body instanceof Uint8Array) return body;
  throw invalid('body must be a string or a Uint8Array');
}

/** Lower-case hex SHA-256 of the body (a string is hashed as its UTF-8 bytes). */
function bodySha256(body) {
  return hex(sha256(bodyBytes(body)));
}

/**
 * The six-line canonical request. `parts`: `{ method, path, query, timestamp, nonce, body }`
 * where `query` is the raw query string (without `?`) and `body` a string or bytes.
 */
function canonicalRequest(parts) {
  checkMethod(parts.method);
  checkPath(parts.path);
  const ts = timestampText(parts.timestamp);
  checkNonce(parts.nonce);
  return [parts.method, parts.path, canonicalQuery(parts.query || ''), ts, parts.nonce, bodySha256(parts.body)].join('\n');
}

function keyBytes(signingKey) {
  const key = typeof signingKey === 'string' ? b64urlDecode(signingKey) : signingKey;
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new MiniguardError('invalid_response', 'signing key is not 32 bytes of base64url');
  }
  return key;
}

/** `base64url(HMAC-SHA256(signing_key, canonical_request))`, the X-MG-Signature value. */
function sign(signingKey, parts) {
  const key = keyBytes(signingKey);
  return b64urlEncode(hmac(sha256, key, utf8Encode(canonicalRequest(parts))));
}

/** The three X-MG-* headers for a request (timestamp and nonce given by the caller). */
function signatureHeaders(signingKey, parts) {
  return {
    'X-MG-Timestamp': timestampText(parts.timestamp),
    'X-MG-Nonce': parts.nonce,
    'X-MG-Signature': sign(signingKey, parts),
  };
}

module.exports = {
  EMPTY_SHA256,
  MIN_NONCE_BYTES,
  canonicalQuery,
  canonicalRequest,
  bodySha256,
  sign,
  signatureHeaders,
  encodeComponent,
  keyBytes,
};
