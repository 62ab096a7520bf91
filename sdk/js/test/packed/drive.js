'use strict';
// The second half of the packed-build test (run.sh does the first: npm pack, install into the
// example mini-program, WeChat's packNpm). This file loads that mini-program (the example's own
// app.js and pages, and `miniguard-sdk` from the packed miniprogram_npm/ tree, resolved the way
// the mini-program runtime resolves it) in a separate JavaScript realm that has no `require`,
// no `process`, no `Buffer` and no `crypto`, with a simulated `wx`:
//
//   wx.request        Node's https against the local server only, trusting its self-signed
//                     certificate for https://127.0.0.1 and refusing every other host
//   wx.login          gives the code `dev:alice` (the dev server's fake WeChat login)
//   wx.getRandomValues Node's CSPRNG
//   wx.*StorageSync   in memory
//
// and drives a real `miniguard serve --dev` (started here on 127.0.0.1 with a port the system
// picks, stopped at the end, every wait bounded) through it: login, the goods and order pages,
// signed CRUD on the `addresses` collection of examples/secure-app/miniguard.toml, a refresh,
// a replayed request refused, logout.
//
//   node drive.js --app DIR --bin PATH --config FILE --work DIR

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const https = require('node:https');
const nodeCrypto = require('node:crypto');
const { spawn, execFileSync } = require('node:child_process');

function option(name) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0 || !process.argv[i + 1]) throw new Error('drive.js: missing --' + name);
  return path.resolve(process.argv[i + 1]);
}

const APP = option('app');
const BIN = option('bin');
const CONFIG = option('config');
const WORK = option('work');
const DATA = path.join(WORK, 'serve-data');
const START_TIMEOUT_MS = 60000;
const REQUEST_TIMEOUT_MS = 15000;
/** The whole run, server start to stop; past it the server is killed and the run fails. */
const RUN_TIMEOUT_MS = 240000;

// ---------------------------------------------------------------------------------------------
// The server

let server = null;
let serverChild = null;
let baseUrl = '';
let ca = null;

function startServer() {
  return new Promise((resolve, reject) => {
    const child = (serverChild = spawn(BIN, ['serve', '--dev', '--listen', '127.0.0.1:0', '--data-dir', DATA, '--config', CONFIG], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server did not start within ' + START_TIMEOUT_MS + ' ms\n' + out + err));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /^\s+listening\s+(https:\/\/127\.0\.0\.1:[0-9]+)\s*$/m.exec(out);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out + err });
      }
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('the server exited (' + code + ') before listening\n' + out + err));
    });
  });
}

function stopServer() {
  if (!server || server.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => server.child.kill('SIGKILL'), 10000);
    server.child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    server.child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------
// Plain HTTPS, for the replay (the exact bytes the SDK sent, sent again)

function httpsSend(url, method, headers, body) {
  const u = new URL(url);
  if (u.protocol !== 'https:' || u.hostname !== '127.0.0.1') {
    return Promise.reject(new Error('refusing ' + url + ': only the local test server is reachable'));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The simulated mini-program: a realm of its own, `wx`, App/Page/getApp, the module loader

function miniProgram(appDir, loginCode) {
  const context = vm.createContext({
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
  });
  const RealmUint8Array = vm.runInContext('Uint8Array', context);
  const sent = []; // every wx.request: { url, method, header, body, status }
  const storage = new Map();
  const navigations = [];
  const toasts = [];

  const wx = {
    login({ success, fail }) {
      setImmediate(() => (loginCode ? success({ code: loginCode, errMsg: 'login:ok' }) : fail({ errMsg: 'login:fail' })));
    },
    getRandomValues({ length, success }) {
      const bytes = new RealmUint8Array(length);
      bytes.set(nodeCrypto.randomBytes(length));
      setImmediate(() => success({ randomValues: bytes.buffer, errMsg: 'getRandomValues:ok' }));
    },
    request(options) {
      const { url, method = 'GET', header = {}, data, success, fail, complete } = options;
      const body = data === undefined ? '' : typeof data === 'string' ? data : JSON.stringify(data);
      const entry = { url, method, header: Object.assign({}, header), body, status: null };
      sent.push(entry);
      httpsSend(url, method, header, body).then(
        (res) => {
          entry.status = res.status;
          if (success) success({ statusCode: res.status, header: res.headers, data: res.body, errMsg: 'request:ok' });
          if (complete) complete();
        },
        (e) => {
          if (fail) fail({ errMsg: 'request:fail ' + e.message });
          if (complete) complete();
        }
      );
      return { abort() {} };
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => storage.set(key, value),
    removeStorageSync: (key) => storage.delete(key),
    showToast: (o) => toasts.push(o && o.title),
    navigateTo: (o) => navigations.push(o && o.url),
    stopPullDownRefresh() {},
  };

  let appInstance = null;
  let pageDefinition = null;
  const cache = new Map();

  // As the mini-program runtime does: relative paths inside the package, bare names from the
  // nearest miniprogram_npm/<name>/index.js (never node_modules/).
  function resolve(fromDir, spec) {
    if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/')) {
      let file = spec.startsWith('/') ? path.join(appDir, spec) : path.resolve(fromDir, spec);
      if (!file.endsWith('.js')) file += '.js';
      if (!file.startsWith(appDir + path.sep) || !fs.existsSync(file)) {
        throw new Error('module "' + spec + '" is not defined (from ' + path.relative(appDir, fromDir) + ')');
      }
      return file;
    }
    for (let dir = fromDir; dir.startsWith(appDir); dir = path.dirname(dir)) {
      const file = path.join(dir, 'miniprogram_npm', spec, 'index.js');
      if (fs.existsSync(file)) return file;
      if (dir === appDir) break;
    }
    throw new Error('module "' + spec + '" is not defined: no miniprogram_npm/' + spec + '/index.js');
  }

  function load(file) {
    if (cache.has(file)) return cache.get(file).exports;
    const module = { exports: {} };
    cache.set(file, module);
    const code = fs.readFileSync(file, 'utf8');
    const fn = vm.runInContext('(function (module, exports, require) {' + code + '\n})', context, { filename: file });
    fn(module, module.exports, (spec) => load(resolve(path.dirname(file), spec)));
    return module.exports;
  }

  context.wx = wx;
  context.App = (def) => {
    appInstance = def;
  };
  context.Page = (def) => {
    pageDefinition = def;
  };
  context.getApp = () => appInstance;

  // A page's module runs once and registers its definition; every open makes a new instance.
  const pages = new Map();
  function openPage(route) {
    if (!pages.has(route)) {
      pageDefinition = null;
      load(path.join(appDir, route + '.js'));
      if (!pageDefinition) throw new Error(route + ' did not call Page()');
      pages.set(route, pageDefinition);
    }
    const def = pages.get(route);
    const page = Object.assign({}, def, { route });
    page.data = JSON.parse(JSON.stringify(def.data || {}));
    page.setData = (patch) => {
      page.data = Object.assign({}, page.data, patch);
    };
    return page;
  }

  return {
    wx,
    sent,
    storage,
    navigations,
    toasts,
    load: (rel) => load(path.join(appDir, rel)),
    launch() {
      load(path.join(appDir, 'app.js'));
      if (!appInstance) throw new Error('app.js did not call App()');
      return appInstance.onLaunch ? appInstance.onLaunch() : undefined;
    },
    getApp: () => appInstance,
    openPage,
  };
}

/** Page data and answers come from the other realm: compare them as JSON. */
function plain(value) {
  return JSON.parse(JSON.stringify(value));
}

// ---------------------------------------------------------------------------------------------
// The steps, in order; each one needs the ones before.

let mp = null;
let shop = null;
let sdk = null;
let staff = null;
let tea = null;

// The server never outlives this process, however it ends.
function killServerNow() {
  if (serverChild && serverChild.exitCode === null) serverChild.kill('SIGKILL');
}
process.on('exit', killServerNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killServerNow();
    process.exit(1);
  });
}
setTimeout(() => {
  console.error('drive.js: not done after ' + RUN_TIMEOUT_MS + ' ms; stopping');
  killServerNow();
  process.exit(1);
}, RUN_TIMEOUT_MS).unref();

test.before(async () => {
  fs.mkdirSync(DATA, { recursive: true });
  server = await startServer();
  baseUrl = server.url;
  ca = fs.readFileSync(path.join(DATA, 'dev-cert.pem'));
});

test.after(async () => {
  await stopServer();
});

test('the packed tree holds only miniguard-sdk, and it loads without any Node facility', () => {
  const npmDir = path.join(APP, 'miniprogram_npm');
  assert.deepEqual(fs.readdirSync(npmDir).sort(), ['miniguard-sdk']);
  assert.ok(fs.existsSync(path.join(npmDir, 'miniguard-sdk', 'index.js')));
  mp = miniProgram(APP, 'dev:alice');
  sdk = mp.load('miniprogram_npm/miniguard-sdk/index.js');
  assert.equal(typeof sdk.createClient, 'function');
  // The example's config points at production; here it is the local server.
  mp.load('config.js').baseUrl = baseUrl;
  shop = mp.load('lib/shop.js');
});

test('staff stock the shop (a second client of the packed SDK, logged in as dev:sam)', async () => {
  const staffWx = miniProgram(APP, 'dev:sam');
  const staffSdk = staffWx.load('miniprogram_npm/miniguard-sdk/index.js');
  staff = staffSdk.createClient({ baseUrl, platform: 'wechat', api: staffWx.wx });
  const { user } = await staff.login();
  const refused = await staff
    .request({ method: 'POST', path: '/v1/collections/goods/records', data: { name: 'x', price_cents: 1 } })
    .then(() => null, (e) => e);
  assert.equal(refused && refused.code, 'http');
  assert.equal(refused.status, 403, 'goods need role:operator or role:admin');
  // The role is granted the way the secure-app README does it: `miniguard roles grant`, while
  // the server runs (roles are read on every request).
  const granted = execFileSync(
    BIN,
    ['roles', 'grant', '--db', path.join(DATA, 'miniguard.db'), '--user', String(user.id), 'operator'],
    { timeout: 20000, encoding: 'utf8' },
  );
  assert.match(granted, /granted operator to user/);
  const created = await staff.request({
    method: 'POST',
    path: '/v1/collections/goods/records',
    data: { name: 'Oolong tea', price_cents: 1200, status: 'on_sale', cost_cents: 700 },
  });
  assert.equal(created.status, 201);
  tea = plain(created.data);
  await staff.request({
    method: 'POST',
    path: '/v1/collections/goods/records',
    data: { name: 'Unreleased cake', price_cents: 900, status: 'draft' },
  });
});

test('app launch logs in through wx.login (dev:alice) and the packed SDK', async () => {
  await mp.launch();
  assert.equal(shop.getClient().isLoggedIn(), true);
  const login = mp.sent[0];
  assert.match(login.url, /\/v1\/auth\/wechat\/login$/);
  assert.equal(JSON.parse(login.body).code, 'dev:alice');
  assert.equal(login.status, 200);
  assert.deepEqual(mp.toasts, []);
});

test('the goods page lists what is on sale, without the staff-only cost', async () => {
  const page = mp.openPage('pages/goods/goods');
  await page.onLoad({});
  const data = plain(page.data);
  assert.equal(data.error, '');
  assert.deepEqual(data.goods, [{ id: tea.id, name: 'Oolong tea', price: '12.00' }]);
  // The page asked for what is on sale only; without the filter the draft shows too, and no
  // record carries the staff-only cost_cents.
  const all = plain((await shop.getClient().request({ path: '/v1/collections/goods/records' })).data);
  assert.equal(all.items.length, 2);
  assert.ok(all.items.every((g) => !('cost_cents' in g)));
  page.choose({ currentTarget: { dataset: { index: 0 } } });
  assert.deepEqual(mp.navigations, ['/pages/order/order']);
});

test('the order page places an order, saves the address encrypted on the device', async () => {
  const page = mp.openPage('pages/order/order');
  await page.onLoad({});
  assert.equal(page.data.goods.id, tea.id);
  page.onQuantity({ detail: { value: '2' } });
  const type = (field, value) => page.onAddress({ currentTarget: { dataset: { field } }, detail: { value } });
  type('recipient', 'Alice');
  type('phone', '13800000000');
  type('address', '1 Long Street');
  await page.submit();
  const data = plain(page.data);
  assert.equal(data.error, '');
  assert.equal(data.placed.quantity, 2);
  assert.deepEqual(mp.toasts, ['Order placed']);
  // The server holds it as Alice's order, readable by staff.
  const order = plain((await staff.request({ path: '/v1/collections/orders/records/' + data.placed.id })).data);
  assert.equal(order.item, tea.id);
  assert.equal(order.quantity, 2);
  // On the device the address is an mg1 value (AES-256-GCM), not readable text.
  const stored = mp.storage.get('last-address');
  assert.match(stored, /^mg1\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.ok(!stored.includes('Long Street'));
  const again = mp.openPage('pages/order/order');
  await again.onLoad({});
  assert.equal(again.data.address.address, '1 Long Street');
  const mine = plain(await shop.listOrders());
  assert.deepEqual(mine.map((o) => o.id), [data.placed.id]);
});

test('signed CRUD on the addresses collection through the packed SDK', async () => {
  const client = shop.getClient();
  const base = '/v1/collections/addresses/records';
  const created = await client.request({
    method: 'POST',
    path: base,
    data: { label: 'office', recipient: '李雷', phone: '13900000000', address: '2 South Road' },
  });
  assert.equal(created.status, 201);
  const id = created.data.id;
  const got = await client.request({ path: base + '/' + id });
  assert.equal(got.data.recipient, '李雷');
  const listed = await client.request({ path: base, query: { filter: 'label = "office"' } });
  assert.deepEqual(plain(listed.data.items).map((a) => a.id), [id]);
  const changed = await client.request({ method: 'PATCH', path: base + '/' + id, data: { address: '3 North Road' } });
  assert.equal(changed.status, 200);
  assert.equal((await client.request({ path: base + '/' + id })).data.address, '3 North Road');
  // Staff may not read another user's address: 404, like a record that does not exist.
  await assert.rejects(staff.request({ path: base + '/' + id }), (e) => e.code === 'http' && e.status === 404);
  const deleted = await client.request({ method: 'DELETE', path: base + '/' + id });
  assert.ok(deleted.status === 200 || deleted.status === 204, String(deleted.status));
  await assert.rejects(client.request({ path: base + '/' + id }), (e) => e.code === 'http' && e.status === 404);
  // Every one of these went out signed.
  const signed = mp.sent.filter((r) => r.url.includes(base));
  assert.ok(signed.length >= 6);
  for (const r of signed) {
    assert.match(r.header.Authorization, /^Bearer /);
    assert.match(r.header['X-MG-Signature'], /^[A-Za-z0-9_-]{43}$/);
  }
});

test('refresh: new tokens each time, and signed requests go on with them', async () => {
  const client = shop.getClient();
  const before = mp.sent[mp.sent.length - 1].header.Authorization;
  await client.refresh();
  const first = mp.sent[mp.sent.length - 1];
  assert.match(first.url, /\/v1\/auth\/refresh$/);
  assert.equal(first.status, 200);
  const me = await client.request({ path: '/v1/me' });
  assert.equal(me.status, 200);
  const after = mp.sent[mp.sent.length - 1].header.Authorization;
  assert.notEqual(after, before);
  // The refresh token rotates: the next refresh spends the new one, never the old one again
  // (the server would take a reuse as theft and end the login).
  await client.refresh();
  const second = mp.sent[mp.sent.length - 1];
  assert.equal(second.status, 200);
  assert.notEqual(JSON.parse(second.body).refresh_token, JSON.parse(first.body).refresh_token);
  assert.equal((await client.request({ path: '/v1/me' })).status, 200);
});

test('a replayed request is refused; the same session goes on with fresh nonces', async () => {
  const client = shop.getClient();
  await client.request({ path: '/v1/collections/goods/records', query: { filter: 'status = "on_sale"' } });
  const original = mp.sent[mp.sent.length - 1];
  assert.equal(original.status, 200);
  const replay = await httpsSend(original.url, original.method, original.header, original.body);
  assert.equal(replay.status, 401, replay.body);
  assert.equal(JSON.parse(replay.body).type, 'urn:miniguard:problem:unauthorized');
  assert.equal((await client.request({ path: '/v1/me' })).status, 200);
});

test('logout ends the session on the server and on the device', async () => {
  const client = shop.getClient();
  await client.logout();
  const logout = mp.sent[mp.sent.length - 1];
  assert.match(logout.url, /\/v1\/auth\/logout$/);
  assert.ok(logout.status >= 200 && logout.status < 300, String(logout.status));
  assert.equal(client.isLoggedIn(), false);
  await assert.rejects(client.request({ path: '/v1/me' }), (e) => e.code === 'login_required');
  await staff.logout();
});
