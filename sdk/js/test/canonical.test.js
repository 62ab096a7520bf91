'use strict';
// Canonical-string edge cases, the portable encoders, and the SDK against the independent
// reference on generated queries.

const test = require('node:test');
const assert = require('node:assert/strict');
const sdk = require('..');
const ref = require('../support/reference');

const NONCE = 'AAECAwQFBgcICQoLDA0ODw';
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('empty query gives an empty line, as do only-empty parameters', () => {
  assert.equal(sdk.canonicalQuery(''), '');
  assert.equal(sdk.canonicalQuery('&&&'), '');
  const c = sdk.canonicalRequest({ method: 'GET', path: '/v1/me', query: '', timestamp: 5, nonce: NONCE, body: '' });
  assert.equal(c, `GET\n/v1/me\n\n5\n${NONCE}\n${EMPTY}`);
  assert.ok(!c.endsWith('\n'));
});

test('repeated keys are sorted by value, bare keys get "="', () => {
  assert.equal(sdk.canonicalQuery('a=2&a=10&a=1&b&a='), 'a=&a=1&a=10&a=2&b=');
  assert.equal(sdk.canonicalQuery('b=2&a=3&a=1&flag&q=x+y%2b&t=%7e'), 'a=1&a=3&b=2&flag=&q=x%20y%2B&t=~');
  assert.equal(sdk.canonicalQuery('k=a=b'), 'k=a%3Db');
  // Sorting compares bytes: upper case before lower case, "%" before letters.
  assert.equal(sdk.canonicalQuery('b=1&B=1&%21=1&_=1'), '%21=1&B=1&_=1&b=1');
});

test('escapes: either hex case in, upper case out; + and %20 are the same, %2B is not', () => {
  assert.equal(sdk.canonicalQuery('%E4%BD%A0=%e5%a5%bd'), '%E4%BD%A0=%E5%A5%BD');
  assert.equal(sdk.canonicalQuery('a=x%20y'), sdk.canonicalQuery('a=x+y'));
  assert.notEqual(sdk.canonicalQuery('a=x%2By'), sdk.canonicalQuery('a=x+y'));
  for (const bad of ['a=%', 'a=%4', 'a=%zz', '%=1', 'a=%g0', 'a=b%']) {
    assert.throws(() => sdk.canonicalQuery(bad), { code: 'invalid_request' }, bad);
  }
});

test('unicode in query, path and body', () => {
  assert.equal(sdk.canonicalQuery('名=值'), '%E5%90%8D=%E5%80%BC');
  assert.equal(sdk.canonicalQuery('e=😀'), 'e=%F0%9F%98%80');
  const parts = { method: 'POST', path: '/v1/files/%E6%96%87', query: 'x=é', timestamp: 1, nonce: NONCE, body: '{"备注":"你好😀"}' };
  assert.equal(sdk.canonicalRequest(parts), ref.canonicalRequest(parts));
  assert.equal(sdk.sign(KEY, parts), ref.signature(Buffer.from(KEY, 'base64url'), parts));
  // A path is signed as given (its percent-encoding untouched), non-ASCII included.
  const raw = Object.assign({}, parts, { path: '/v1/files/文' });
  assert.equal(sdk.canonicalRequest(raw).split('\n')[1], '/v1/files/文');
  assert.equal(sdk.sign(KEY, raw), ref.signature(Buffer.from(KEY, 'base64url'), raw));
  assert.notEqual(sdk.sign(KEY, raw), sdk.sign(KEY, parts));
});

test('empty body hashes to the SHA-256 of nothing, whatever "empty" is given as', () => {
  assert.equal(sdk.bodySha256(''), EMPTY);
  assert.equal(sdk.bodySha256(undefined), EMPTY);
  assert.equal(sdk.bodySha256(new Uint8Array(0)), EMPTY);
  assert.notEqual(sdk.bodySha256(' '), EMPTY);
});

test('malformed method, path, timestamp, nonce and key are refused', () => {
  const ok = { method: 'GET', path: '/', query: '', timestamp: 0, nonce: NONCE, body: '' };
  assert.doesNotThrow(() => sdk.canonicalRequest(ok));
  const bad = [
    { method: '' },
    { method: 'GE T' },
    { method: 'GET\n' },
    { path: '' },
    { path: 'x' },
    { path: '/a\nb' },
    { path: '/a b' },
    { timestamp: -1 },
    { timestamp: 1.5 },
    { timestamp: '01' },
    { timestamp: '+1' },
    { nonce: '' },
    { nonce: Buffer.alloc(15).toString('base64url') },
    { nonce: Buffer.alloc(65).toString('base64url') },
    { nonce: NONCE + '==' },
    { nonce: 'AAECAwQFBgcICQoLDA0OD+' },
    { nonce: 'AAECAwQFBgcICQoLDA0ODx' }, // non-zero trailing bits: not canonical base64url
  ];
  for (const change of bad) {
    assert.throws(() => sdk.canonicalRequest(Object.assign({}, ok, change)), { code: 'invalid_request' }, JSON.stringify(change));
  }
  assert.doesNotThrow(() => sdk.canonicalRequest(Object.assign({}, ok, { nonce: Buffer.alloc(64, 7).toString('base64url') })));
  assert.throws(() => sdk.sign('AAAA', ok), { code: 'invalid_response' });
  assert.throws(() => sdk.sign(new Uint8Array(31), ok), { code: 'invalid_response' });
});

test('every field changes the signature', () => {
  const base = { method: 'POST', path: '/v1/orders', query: 'b=2&a=1', timestamp: 1700000000, nonce: NONCE, body: '{"amount":1}' };
  const sig = sdk.sign(KEY, base);
  const changes = [
    { method: 'PUT' },
    { path: '/v1/orderz' },
    { query: 'b=2&a=2' },
    { timestamp: 1700000001 },
    { nonce: 'AAECAwQFBgcICQoLDA0ODg' },
    { body: '{"amount":9}' },
  ];
  for (const c of changes) assert.notEqual(sdk.sign(KEY, Object.assign({}, base, c)), sig, JSON.stringify(c));
  assert.equal(sdk.sign(KEY, Object.assign({}, base, { query: 'a=1&b=2' })), sig);
});

// A small deterministic generator (tests only; the SDK never uses a non-cryptographic source).
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('generated queries: the SDK and the reference agree, both accept or both refuse', () => {
  const rnd = lcg(12345);
  const alphabet = ['a', 'b', 'Z', '0', '=', '&', '+', '%', '2', 'B', 'f', '~', '-', '.', '_', ' ', '!', '*', "'", '名', '😀', 'é', '/', '?', ':', '@', '\ud800'];
  let refused = 0;
  for (let n = 0; n < 2000; n++) {
    let q = '';
    const len = Math.floor(rnd() * 16);
    for (let i = 0; i < len; i++) q += alphabet[Math.floor(rnd() * alphabet.length)];
    let expected;
    try {
      expected = ref.canonicalQuery(q);
    } catch (e) {
      expected = null;
    }
    if (expected === null) {
      refused++;
      assert.throws(() => sdk.canonicalQuery(q), { code: 'invalid_request' }, q);
    } else {
      const got = sdk.canonicalQuery(q);
      assert.equal(got, expected, q);
      assert.equal(sdk.canonicalQuery(got), got, 'idempotent: ' + q);
    }
  }
  assert.ok(refused > 0 && refused < 2000);
});

test('UTF-8 encoder matches Buffer, lone surrogates included; decoder is strict', () => {
  const samples = ['', 'abc', 'é', '名字', '😀x', '\ud800', 'a\udc00b', '\udbff\udfff', '\u0000\u007f\u0080\u07ff\u0800\uffff'];
  for (const s of samples) {
    assert.deepEqual(Buffer.from(sdk.utf8Encode(s)), Buffer.from(s, 'utf8'), JSON.stringify(s));
    if (!/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
      assert.equal(sdk.utf8Decode(sdk.utf8Encode(s)), s);
    }
  }
  for (const bad of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe4, 0xbd], [0xff]]) {
    assert.throws(() => sdk.utf8Decode(new Uint8Array(bad)), { code: 'invalid_response' }, JSON.stringify(bad));
  }
});

test('base64url: matches Buffer, refuses padding, foreign characters and non-canonical tails', () => {
  for (let n = 0; n < 40; n++) {
    const bytes = Buffer.alloc(n, 0).map((_, i) => (i * 37 + n) & 255);
    const text = sdk.b64urlEncode(bytes);
    assert.equal(text, bytes.toString('base64url'));
    assert.deepEqual(Buffer.from(sdk.b64urlDecode(text)), bytes);
  }
  for (const bad of ['A', 'AA=', 'AB', 'AAB', 'a+b/', 'ab cd', 'é', 'AAAAA']) {
    assert.equal(sdk.b64urlDecode(bad), null, bad);
  }
  assert.deepEqual(Array.from(sdk.b64urlDecode('')), []);
});
