'use strict';
// The shared conformance vectors that the Rust side tests too.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const sdk = require('..');
const ref = require('../support/reference');

const vectors = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../../crates/crypto/tests/vectors/signing.json'), 'utf8')
);

test('the vector file has vectors and invalid queries', () => {
  assert.ok(vectors.vectors.length >= 5);
  assert.ok(vectors.invalid_queries.length >= 3);
});

for (const v of vectors.vectors) {
  test(`vector: ${v.description}`, () => {
    const parts = {
      method: v.method,
      path: v.path,
      query: v.query,
      timestamp: v.timestamp,
      nonce: v.nonce,
      body: v.body,
    };
    assert.equal(sdk.canonicalQuery(v.query), v.canonical_query);
    assert.equal(sdk.bodySha256(v.body), v.body_sha256);
    assert.equal(sdk.bodySha256(sdk.utf8Encode(v.body)), v.body_sha256);
    assert.equal(sdk.canonicalRequest(parts), v.canonical_request);
    assert.equal(sdk.sign(vectors.signing_key, parts), v.signature);
    assert.equal(sdk.sign(sdk.b64urlDecode(vectors.signing_key), parts), v.signature);
    const headers = sdk.signatureHeaders(vectors.signing_key, parts);
    assert.deepEqual(headers, {
      'X-MG-Timestamp': String(v.timestamp),
      'X-MG-Nonce': v.nonce,
      'X-MG-Signature': v.signature,
    });
    // The tests' own verifier agrees with the vectors, so it can judge the SDK elsewhere.
    assert.equal(ref.canonicalRequest(parts), v.canonical_request);
    assert.equal(ref.signature(Buffer.from(vectors.signing_key, 'base64url'), parts), v.signature);
  });
}

for (const q of vectors.invalid_queries) {
  test(`invalid query is refused: ${q}`, () => {
    assert.throws(() => sdk.canonicalQuery(q), { name: 'MiniguardError', code: 'invalid_request' });
    assert.throws(() => ref.canonicalQuery(q));
  });
}

test('the ES module entry exports the same implementation', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.createClient, sdk.createClient);
  assert.equal(esm.secureStorage, sdk.secureStorage);
  assert.equal(esm.sign, sdk.sign);
  assert.equal(esm.default, sdk);
  const v = vectors.vectors[1];
  assert.equal(esm.sign(vectors.signing_key, v), v.signature);
});
