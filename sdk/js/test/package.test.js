'use strict';
// The package as the mini-program builders see it: one self-contained CommonJS file named by
// `main` and inside the `miniprogram` folder, no runtime dependencies, types for both entries.
// (The full WeChat build, packNpm, runs in test/packed/run.sh.)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const nodeCrypto = require('node:crypto');

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BUILT = path.join(ROOT, pkg.miniprogram, 'index.js');

test('package.json: miniprogram folder, main inside it, types, no runtime dependencies', () => {
  assert.equal(pkg.miniprogram, 'miniprogram');
  assert.equal(pkg.main, 'miniprogram/index.js');
  assert.equal(pkg.types, 'index.d.ts');
  assert.equal(pkg.exports['.'].require.default, './miniprogram/index.js');
  assert.equal(pkg.exports['.'].require.types, './index.d.ts');
  assert.equal(pkg.exports['.'].import.types, './index.d.mts');
  // Anything in `dependencies` would be packed by WeChat's npm build on its own (and the
  // noble root modules throw there); everything the SDK needs is in the built file.
  assert.deepEqual(Object.keys(pkg.dependencies || {}), []);
  for (const f of ['miniprogram/', 'index.mjs', 'index.d.ts', 'index.d.mts']) assert.ok(pkg.files.includes(f), f);
});

test('the built file runs with no require at all, as in a mini-program engine', () => {
  const code = fs.readFileSync(BUILT, 'utf8');
  const module = { exports: {} };
  const sandbox = { module, exports: module.exports, Uint8Array, Uint32Array, DataView, ArrayBuffer, BigInt, Error, TypeError, Promise };
  vm.runInNewContext(code, sandbox, { filename: 'miniprogram_npm/miniguard-sdk/index.js' });
  const sdk = module.exports;
  assert.equal(typeof sdk.createClient, 'function');
  // The shared vector 'get-me' computed by the bundled HMAC-SHA256 matches Node's own.
  const key = new Uint8Array(32).fill(7);
  const parts = { method: 'GET', path: '/v1/me', query: 'b=2&a=1', timestamp: 1700000000, nonce: 'AAECAwQFBgcICQoLDA0ODw', body: '{"x":"你好"}' };
  const expected = nodeCrypto.createHmac('sha256', key).update(sdk.canonicalRequest(parts)).digest('base64url');
  assert.equal(sdk.sign(key, parts), expected);
  assert.equal(sdk.bodySha256('你好'), nodeCrypto.createHash('sha256').update('你好').digest('hex'));
});

test('the built file requires no module and holds the noble license notices', () => {
  const code = fs.readFileSync(BUILT, 'utf8');
  assert.ok(!/(^|[^_A-Za-z0-9.])require\(\s*['"]/.test(code), 'a require("...") is left in the bundle');
  assert.match(code, /Bundled: @noble\/hashes 1\.8\.0[\s\S]*Permission is hereby granted/);
  assert.match(code, /Bundled: @noble\/ciphers 1\.3\.0[\s\S]*Permission is hereby granted/);
  const stripped = code.replace(/\/\/.*$/gm, '').replace(/'[^'\n]*'/g, "''").replace(/"[^"\n]*"/g, '""');
  assert.ok(!/Math\s*\.\s*random/.test(stripped), 'Math.random in the bundle');
});

test('the ES module entry exports the same functions as the CommonJS entry', async () => {
  const cjs = require('..');
  const esm = await import(path.join(ROOT, 'index.mjs'));
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name);
  assert.equal(esm.default, cjs);
});
