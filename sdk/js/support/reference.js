'use strict';
// An independent reading of docs/protocol.md ("Signed requests"), written for the tests with
// Node's own crypto and Buffer. It shares no code with the SDK, so a test that verifies the SDK's
// signatures with it checks the SDK against the protocol text, not against itself.

const crypto = require('node:crypto');

/** Strict base64url without padding: null unless `text` is the one canonical encoding. */
function fromB64url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const buf = Buffer.from(text, 'base64url');
  return buf.toString('base64url') === text ? buf : null;
}

function formDecode(s) {
  const out = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '+') {
      out.push(0x20);
      i += 1;
    } else if (s[i] === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new Error('malformed percent escape');
      out.push(parseInt(h, 16));
      i += 3;
    } else {
      const ch = String.fromCodePoint(s.codePointAt(i));
      out.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(out);
}

function strictEncode(buf) {
  let out = '';
  for (const b of buf) {
    const c = String.fromCharCode(b);
    out += /^[A-Za-z0-9._~-]$/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** protocol.md "Query canonicalisation", steps 1 to 6. */
function canonicalQuery(raw) {
  const pairs = raw
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const [k, v] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
      return [strictEncode(formDecode(k)), strictEncode(formDecode(v))];
    });
  const cmp = (a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
  pairs.sort((x, y) => cmp(x[0], y[0]) || cmp(x[1], y[1]));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalRequest({ method, path, query, timestamp, nonce, body }) {
  const bodyHash = crypto.createHash('sha256').update(Buffer.from(body, 'utf8')).digest('hex');
  return [method, path, canonicalQuery(query), String(timestamp), nonce, bodyHash].join('\n');
}

function signature(keyBuf, parts) {
  return crypto
    .createHmac('sha256', keyBuf)
    .update(Buffer.from(canonicalRequest(parts), 'utf8'))
    .digest('base64url');
}

module.exports = { fromB64url, canonicalQuery, canonicalRequest, signature };
