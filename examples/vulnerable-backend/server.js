// A deliberately vulnerable mini-program backend: the target `miniguard probe` must find every
// planted flaw in (see EXPECTED.md). NEVER deploy it. It listens on loopback only.
//
//   node server.js [--port 8080] [--wx-port 0]
//
// Storage: MySQL through mysql2 (database `miniguard_vuln` on 127.0.0.1:3306, root, empty
// password) when MINIGUARD_TEST_MYSQL is set; otherwise SQLite (sql.js, SQLite compiled to
// WebAssembly) in memory. Login is WeChat-style: the client sends a `code`, the server exchanges
// it at a local fake of WeChat's code2session (its own listener, a second port) for an openid.
// Test codes are `test:<name>`.
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { exec, execFile } = require('node:child_process');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}
const PORT = arg('--port', 8080);
const WX_PORT = arg('--wx-port', 0);

// ---------------------------------------------------------------- storage (real SQL engines)

async function openDb() {
  if (process.env.MINIGUARD_TEST_MYSQL) {
    const mysql = require('mysql2/promise');
    const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    await admin.query('CREATE DATABASE IF NOT EXISTS miniguard_vuln');
    await admin.end();
    const conn = await mysql.createConnection({
      host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'miniguard_vuln',
    });
    return {
      kind: 'mysql',
      async all(sql) { const [rows] = await conn.query(sql); return rows; },
      async run(sql) { const [r] = await conn.query(sql); return r.insertId; },
    };
  }
  const initSqlJs = require('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  return {
    kind: 'sqlite',
    async all(sql) {
      const out = [];
      for (const res of db.exec(sql)) {
        for (const row of res.values) {
          const o = {};
          res.columns.forEach((c, i) => { o[c] = row[i]; });
          out.push(o);
        }
      }
      return out;
    },
    async run(sql) {
      db.run(sql);
      return db.exec('SELECT last_insert_rowid()')[0].values[0][0];
    },
  };
}

async function seed(db) {
  const auto = db.kind === 'mysql' ? 'INT AUTO_INCREMENT PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  for (const t of ['orders', 'addresses', 'goods', 'users']) await db.run(`DROP TABLE IF EXISTS ${t}`);
  await db.run(`CREATE TABLE users (id ${auto}, openid VARCHAR(64) UNIQUE, nickname VARCHAR(64), role VARCHAR(16))`);
  await db.run(`CREATE TABLE goods (id ${auto}, name VARCHAR(64), price INT, hidden INT)`);
  await db.run(`CREATE TABLE orders (id ${auto}, owner INT, goods_id INT, quantity INT, note VARCHAR(200))`);
  await db.run(`CREATE TABLE addresses (id ${auto}, owner INT, recipient VARCHAR(64), phone VARCHAR(32))`);
  await db.run("INSERT INTO goods (name, price, hidden) VALUES ('tea', 1200, 0), ('cake', 800, 0), ('gift card', 10000, 1)");
  await db.run('DROP TABLE IF EXISTS reviews');
  await db.run(`CREATE TABLE reviews (id ${auto}, goods_id INT, stars INT, text VARCHAR(200))`);
  const rows = [];
  for (let i = 1; i <= 1500; i++) rows.push(`(${1 + (i % 2)}, ${1 + (i % 5)}, 'review ${i}')`);
  await db.run(`INSERT INTO reviews (goods_id, stars, text) VALUES ${rows.join(', ')}`);
}

// ---------------------------------------------------------------- a document store (in memory)

// Coupons in a Mongo-like store: a filter maps fields to a value or to an object of operators.
const COUPONS = [
  { code: 'WELCOME', discount: 10, staff_only: false },
  { code: 'STAFF-ONLY-90', discount: 90, staff_only: true },
];

function matches(doc, filter) {
  for (const [field, cond] of Object.entries(filter)) {
    const v = doc[field];
    if (cond !== null && typeof cond === 'object') {
      for (const [op, arg] of Object.entries(cond)) {
        if (op === '$eq' && !(v === arg)) return false;
        if (op === '$ne' && !(v !== arg)) return false;
        if (op === '$gt' && !(v > arg)) return false;
        if (op === '$lt' && !(v < arg)) return false;
      }
    } else if (v !== cond) {
      return false;
    }
  }
  return true;
}

// The same filter with `$where` honoured the way `sift` (and MongoDB) do: a string is JavaScript,
// run with the document as `this`. A condition that throws matches nothing.
function matchesWhere(doc, filter) {
  const { $where, ...fields } = filter;
  if ($where !== undefined) {
    let ok = false;
    try {
      ok = Boolean(new Function(`return (${$where});`).call(doc));
    } catch {
      ok = false;
    }
    if (!ok) return false;
  }
  return matches(doc, fields);
}

// Query strings parsed the way `qs` does for one level: `code[$ne]=x` becomes { code: { $ne: 'x' } }.
function parseQuery(params) {
  const out = {};
  for (const [k, v] of params) {
    const m = k.match(/^([^[\]]+)\[([^[\]]+)\]$/);
    if (m) {
      out[m[1]] = typeof out[m[1]] === 'object' && out[m[1]] ? out[m[1]] : {};
      out[m[1]][m[2]] = v;
    } else {
      out[k] = v;
    }
  }
  return out;
}

// A tiny template engine: `{{ expression }}` is evaluated as JavaScript.
function render(template) {
  return template.replace(/\{\{([^}]{1,200})\}\}/g, (_, expr) => String(new Function(`return (${expr});`)()));
}

// ---------------------------------------------------------------- TOTP (RFC 6238: SHA-1, 6 digits, 30 s)

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function totpCode(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

// The current code or one step either side.
function totpValid(secret, code) {
  const step = Math.floor(Date.now() / 30000);
  return typeof code === 'string' && [-1, 0, 1].some((d) => totpCode(secret, step + d) === code);
}

// ---------------------------------------------------------------- the fake WeChat login API

function startFakeWeChat() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      const code = u.searchParams.get('js_code') || '';
      res.setHeader('content-type', 'application/json');
      if (u.pathname !== '/sns/jscode2session' || !code.startsWith('test:')) {
        res.end(JSON.stringify({ errcode: 40029, errmsg: 'invalid code' }));
        return;
      }
      const name = code.slice(5).split(':')[0];
      res.end(JSON.stringify({ openid: `o_${name}`, session_key: crypto.randomBytes(16).toString('base64') }));
    });
    srv.listen(WX_PORT, '127.0.0.1', () => resolve(srv.address().port));
  });
}

function code2session(wxPort, code) {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${wxPort}/sns/jscode2session?appid=wxdemo&secret=demo&js_code=${encodeURIComponent(code)}&grant_type=authorization_code`, (r) => {
      let data = '';
      r.on('data', (c) => { data += c; });
      r.on('end', () => { try { resolve(JSON.parse(data)); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

// ---------------------------------------------------------------- the app

const sessions = new Map(); // token -> user id
const seenNonces = new Map(); // nonce -> expiry (ms), for the look-alike that does remember them
const refreshTokens = new Map(); // refresh token -> user id
const totp = new Map(); // user id -> { secret: Buffer (active, or null), pending: Buffer (or null) }

function send(res, status, body, headers = {}) {
  const json = typeof body !== 'string';
  res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/html; charset=utf-8', ...headers });
  res.end(json ? JSON.stringify(body) : body);
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { if (data.length < 65536) data += c; });
    req.on('end', () => { try { resolve(data ? JSON.parse(data) : {}); } catch { resolve({}); } });
  });
}

async function currentUser(db, req) {
  const auth = req.headers.authorization || '';
  const id = sessions.get(auth.replace(/^Bearer /, ''));
  if (!id) return null;
  const rows = await db.all(`SELECT * FROM users WHERE id = ${Number(id)}`);
  return rows[0] || null;
}

const OPENAPI = JSON.parse(fs.readFileSync(path.join(__dirname, 'openapi.json'), 'utf8'));

async function main() {
  const db = await openDb();
  await seed(db);
  const wxPort = await startFakeWeChat();

  const server = http.createServer(async (req, res) => {
    // FLAW (C102): every origin is reflected, with credentials.
    if (req.headers.origin) {
      res.setHeader('access-control-allow-origin', req.headers.origin);
      res.setHeader('access-control-allow-credentials', 'true');
    }
    // FLAW (C101): no X-Content-Type-Options, no CSP, no frame options anywhere.
    const u = new URL(req.url, 'http://localhost');
    const q = u.searchParams;
    const route = `${req.method} ${u.pathname}`;
    try {
      if (route === 'GET /') {
        return send(res, 200, '<html><body><h1>Shop API</h1><a href="/openapi.json">API</a> <a href="/api/goods">goods</a></body></html>');
      }
      if (route === 'GET /openapi.json') return send(res, 200, OPENAPI);

      if (route === 'POST /api/login') {
        const body = await readBody(req);
        const wx = await code2session(wxPort, String(body.code || ''));
        if (!wx.openid) return send(res, 400, { error: 'invalid code' });
        let rows = await db.all(`SELECT * FROM users WHERE openid = '${wx.openid.replace(/'/g, "''")}'`);
        if (!rows.length) {
          await db.run(`INSERT INTO users (openid, nickname, role) VALUES ('${wx.openid.replace(/'/g, "''")}', 'user', 'user')`);
          rows = await db.all(`SELECT * FROM users WHERE openid = '${wx.openid.replace(/'/g, "''")}'`);
          const uid = rows[0].id;
          await db.run(`INSERT INTO orders (owner, goods_id, quantity, note) VALUES (${uid}, 1, 2, 'order of ${uid}')`);
          await db.run(`INSERT INTO addresses (owner, recipient, phone) VALUES (${uid}, 'recipient of ${uid}', '1380013800${uid}')`);
        }
        const token = crypto.randomBytes(24).toString('hex');
        const refresh = crypto.randomBytes(24).toString('hex');
        sessions.set(token, rows[0].id);
        refreshTokens.set(refresh, rows[0].id);
        // FLAW (A106): the session token travels in a URL.
        return send(res, 200, { token, refresh_token: refresh, openid: wx.openid, user_id: rows[0].id, home: `/api/home?token=${token}` });
      }

      if (route === 'POST /api/refresh') {
        // FLAW (A107): the refresh token is never spent: the old one keeps working after a refresh.
        const body = await readBody(req);
        const uid = refreshTokens.get(body.refresh_token);
        if (typeof body.refresh_token !== 'string' || !uid) return send(res, 401, { error: 'invalid refresh token' });
        const token = crypto.randomBytes(24).toString('hex');
        const refresh = crypto.randomBytes(24).toString('hex');
        sessions.set(token, uid);
        refreshTokens.set(refresh, uid);
        return send(res, 200, { token, refresh_token: refresh });
      }

      if (route === 'POST /api/logout') {
        // FLAW (A107): logout answers 204 but the session stays valid on the server.
        if (!(await currentUser(db, req))) return send(res, 401, { error: 'login required' });
        res.writeHead(204);
        return res.end();
      }

      if (route === 'GET /api/coupons') {
        // FLAW (I102): the parsed query goes into the document filter as is: code[$ne]=x matches
        // every coupon, staff-only ones included.
        const filter = parseQuery(q);
        return send(res, 200, { coupons: COUPONS.filter((c) => matches(c, { code: filter.code ?? '' })) });
      }

      if (route === 'POST /api/coupons/check') {
        // FLAW (I102): the JSON body's `code` goes into the filter as is, objects included.
        const body = await readBody(req);
        const found = COUPONS.filter((c) => matches(c, { code: body.code ?? '' }));
        if (!found.length) return send(res, 404, { error: 'no such coupon' });
        return send(res, 200, { coupon: found[0] });
      }

      if (route === 'GET /api/shipping/track') {
        // FLAW (I105): the parcel number is put into a shell command line.
        const number = q.get('number') || '';
        const output = await new Promise((resolve) => {
          exec(`echo tracking ${number}`, { timeout: 2000 }, (err, stdout) => resolve(err ? null : stdout));
        });
        if (output === null) return send(res, 200, { status: 'unknown' });
        return send(res, 200, { status: output.trim() });
      }

      if (route === 'GET /api/invoices/email') {
        // FLAW (I105, blind): the address is put into a shell command line whose output is
        // discarded; the answer never changes, only the time the command takes tells.
        const to = q.get('to') || '';
        await new Promise((resolve) => {
          exec(`echo invoice for ${to} > /dev/null`, { timeout: 10000 }, () => resolve());
        });
        return send(res, 200, { queued: true });
      }

      if (route === 'GET /api/parcels') {
        // Look-alike (no I105): the same echo, but through execFile, without a shell.
        const number = q.get('number') || '';
        const output = await new Promise((resolve) => {
          execFile('echo', ['parcel', number], { timeout: 2000 }, (err, stdout) => resolve(err ? null : stdout));
        });
        return send(res, 200, { label: output === null ? 'unknown' : output.trim() });
      }

      if (route === 'GET /api/greeting/plain') {
        // Look-alike (no I106): the name is passed as data; only the fixed template is evaluated.
        const name = q.get('name') || 'friend';
        return send(res, 200, { greeting: render("Dear {{ 'NAME' }}, thank you.").replace('NAME', name) });
      }

      if (route === 'GET /api/coupons/find') {
        // FLAW (I102, $where): the code must be a string, but the whole parsed query is the
        // filter, and the filter runs `$where` as JavaScript: $where=true lists every coupon.
        const filter = parseQuery(q);
        if (typeof (filter.code ?? '') !== 'string') return send(res, 400, { error: 'code must be a string' });
        return send(res, 200, { coupons: COUPONS.filter((c) => matchesWhere(c, filter)) });
      }

      if (route === 'GET /api/coupons/lookup') {
        // Look-alike (no I102): the same filter with `$where` support, but a key starting with `$`
        // (or an operator in brackets) is refused before it is built.
        const filter = parseQuery(q);
        if (Object.keys(filter).some((k) => k.startsWith('$')) || typeof (filter.code ?? '') !== 'string') {
          return send(res, 400, { error: 'operators are not accepted' });
        }
        return send(res, 200, { coupons: COUPONS.filter((c) => matchesWhere(c, filter)) });
      }

      if (route === 'GET /api/coupons/strict') {
        // Look-alike (no I102): the filter value must be a string.
        const code = parseQuery(q).code ?? '';
        if (typeof code !== 'string') return send(res, 400, { error: 'code must be a string' });
        return send(res, 200, { coupons: COUPONS.filter((c) => matches(c, { code })) });
      }

      if (route === 'GET /api/reviews/top') {
        // Look-alike (no C106): the page size is capped at 50.
        const limit = Math.min(50, Math.max(1, Math.trunc(Number(q.get('limit')) || 10)));
        const rows = await db.all(`SELECT id, goods_id, stars, text FROM reviews ORDER BY stars DESC, id LIMIT ${limit}`);
        return send(res, 200, { limit, reviews: rows });
      }

      if (route === 'GET /api/greeting') {
        // FLAW (I106): the name becomes part of the template source, so `{{ }}` in it is evaluated.
        let text;
        try {
          text = render(`Dear ${q.get('name') || 'friend'}, thank you for your order {{ 'today' }}.`);
        } catch {
          text = 'Dear friend, thank you for your order.';
        }
        return send(res, 200, { greeting: text });
      }

      if (route === 'GET /api/reviews') {
        // FLAW (C106): `limit` is not capped: limit=100000 reads and sends every review.
        const limit = Math.max(1, Math.trunc(Number(q.get('limit')) || 10));
        const rows = await db.all(`SELECT id, goods_id, stars, text FROM reviews ORDER BY id LIMIT ${limit}`);
        return send(res, 200, { limit, reviews: rows });
      }

      if (route === 'POST /api/admin/login') {
        // FLAW (A105): no throttling, no lockout: guesses are unlimited.
        const body = await readBody(req);
        if (body.username === 'admin' && body.password === crypto.randomBytes(16).toString('hex')) {
          return send(res, 200, { ok: true });
        }
        return send(res, 401, { error: 'wrong username or password' });
      }

      if (route === 'GET /api/goods') {
        // FLAW (I101, C103): the keyword is concatenated into SQL; errors go back with the stack.
        const keyword = q.get('keyword') || '';
        const rows = await db.all(`SELECT id, name, price FROM goods WHERE hidden = 0 AND name LIKE '%${keyword}%'`);
        return send(res, 200, { goods: rows });
      }

      if (route === 'GET /api/goods/count') {
        // FLAW (I101, time-based): the name is concatenated into SQL; errors are swallowed and the
        // answer never changes, so only the time the query takes tells.
        try {
          await db.all(`SELECT count(*) AS n FROM goods WHERE name = '${q.get('name') || ''}'`);
        } catch { /* blind */ }
        return send(res, 200, { counted: true });
      }

      if (route === 'GET /api/search') {
        // FLAW (X101): the query is echoed into HTML unescaped.
        const text = q.get('q') || '';
        return send(res, 200, `<html><body><p>Results for ${text}</p></body></html>`);
      }

      if (route === 'GET /api/files') {
        // FLAW (I103): the name is joined to the folder without a check.
        const name = q.get('name') || 'welcome.txt';
        const data = fs.readFileSync(path.join(__dirname, 'files', name), 'utf8');
        return send(res, 200, { name, content: data.slice(0, 4096) });
      }

      if (route === 'GET /api/redirect') {
        // FLAW (C104): any `next` is followed, including other sites.
        return send(res, 302, '', { location: q.get('next') || '/' });
      }

      if (route === 'GET /api/avatar') {
        // FLAW (I104): the server fetches any URL it is given.
        const target = q.get('url') || '';
        const length = await new Promise((resolve) => {
          const r = http.get(target, { timeout: 3000 }, (resp) => {
            let n = 0;
            resp.on('data', (c) => { n += c.length; });
            resp.on('end', () => resolve(n));
          });
          r.on('error', () => resolve(-1));
          r.on('timeout', () => { r.destroy(); resolve(-1); });
        });
        return send(res, 200, { fetched: length >= 0, bytes: length });
      }

      if (route === 'GET /api/addresses') {
        // FLAW (A101): declared as needing a session, but nobody checks: every address is listed.
        const rows = await db.all('SELECT id, owner, recipient, phone FROM addresses');
        return send(res, 200, { addresses: rows });
      }

      if (route === 'GET /api/profile') {
        // FLAW (A104): an `openid` sent by the client is trusted instead of the session.
        let user = null;
        if (q.get('openid')) {
          user = (await db.all(`SELECT * FROM users WHERE openid = '${String(q.get('openid')).replace(/'/g, "''")}'`))[0];
        } else {
          user = await currentUser(db, req);
          if (!user) return send(res, 401, { error: 'login required' });
        }
        if (!user) return send(res, 404, { error: 'no such user' });
        return send(res, 200, { id: user.id, openid: user.openid, nickname: user.nickname, role: user.role });
      }

      // Routes below need a session.
      const user = await currentUser(db, req);
      const needsSession = u.pathname.startsWith('/api/orders') || u.pathname === '/api/me' || u.pathname === '/api/home';
      if (needsSession && !user) return send(res, 401, { error: 'login required' });

      if (route === 'GET /api/home') return send(res, 200, { hello: user.nickname });

      if (route === 'POST /api/points/redeem') {
        if (!user) return send(res, 401, { error: 'login required' });
        // FLAW (A108): a nonce and a timestamp are required "against replay", but nonces are
        // never remembered: the same request is accepted again.
        const nonce = String(req.headers['x-nonce'] || '');
        const ts = Number(req.headers['x-timestamp']);
        if (nonce.length < 16 || !Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) {
          return send(res, 400, { error: 'x-nonce (16+ characters) and a fresh x-timestamp are required' });
        }
        const body = await readBody(req);
        const points = Math.max(0, Math.trunc(Number(body.points) || 0));
        return send(res, 200, { redeemed: points });
      }

      if (route === 'POST /api/points/transfer') {
        if (!user) return send(res, 401, { error: 'login required' });
        // Look-alike (no A108): the same headers, and each nonce is remembered for the window.
        const nonce = String(req.headers['x-nonce'] || '');
        const ts = Number(req.headers['x-timestamp']);
        const now = Date.now();
        if (nonce.length < 16 || !Number.isFinite(ts) || Math.abs(now / 1000 - ts) > 300) {
          return send(res, 400, { error: 'x-nonce (16+ characters) and a fresh x-timestamp are required' });
        }
        for (const [n, exp] of seenNonces) if (exp < now) seenNonces.delete(n);
        if (seenNonces.has(`${user.id}:${nonce}`)) return send(res, 409, { error: 'replayed request' });
        if (seenNonces.size < 100000) seenNonces.set(`${user.id}:${nonce}`, now + 600000);
        const body = await readBody(req);
        return send(res, 200, { transferred: Math.max(0, Math.trunc(Number(body.points) || 0)) });
      }

      if (route === 'POST /api/mfa/totp' || route === 'POST /api/mfa/totp/confirm' || route === 'POST /api/mfa/recovery-codes/regenerate') {
        if (!user) return send(res, 401, { error: 'login required' });
      }

      if (route === 'POST /api/mfa/totp') {
        // FLAW (A109): a new TOTP secret is issued to any session, also when the account already
        // has one, and replaces it at once: no current code is asked for. A stolen session
        // enrols its own authenticator.
        const secret = crypto.randomBytes(20);
        const had = totp.get(user.id);
        totp.set(user.id, had && had.secret ? { secret, pending: null } : { secret: null, pending: secret });
        const text = base32(secret);
        return send(res, 200, { secret: text, otpauth_uri: `otpauth://totp/Shop:${user.id}?secret=${text}&issuer=Shop` });
      }

      if (route === 'POST /api/mfa/totp/confirm') {
        // Activates a pending enrolment with a code of the new secret.
        const body = await readBody(req);
        const state = totp.get(user.id);
        if (!state || !state.pending) return send(res, 409, { error: 'nothing to confirm' });
        if (!totpValid(state.pending, body.code)) return send(res, 401, { error: 'wrong code' });
        totp.set(user.id, { secret: state.pending, pending: null });
        return send(res, 200, { confirmed: true });
      }

      if (route === 'POST /api/mfa/recovery-codes/regenerate') {
        // Look-alike (no A109): an account with TOTP must send its current code.
        const body = await readBody(req);
        const state = totp.get(user.id);
        if (state && state.secret && !totpValid(state.secret, body.code)) {
          return send(res, 403, { error: 'the current TOTP code is required' });
        }
        const codes = Array.from({ length: 8 }, () => crypto.randomBytes(5).toString('hex'));
        return send(res, 200, { recovery_codes: codes });
      }

      if (route === 'GET /api/me') return send(res, 200, user);
      if (route === 'PATCH /api/me') {
        // FLAW (A103): every field of the body is written, `role` included.
        const body = await readBody(req);
        for (const [k, v] of Object.entries(body)) {
          if (['nickname', 'role', 'openid'].includes(k)) {
            await db.run(`UPDATE users SET ${k} = '${String(v).replace(/'/g, "''")}' WHERE id = ${user.id}`);
          }
        }
        return send(res, 200, (await db.all(`SELECT * FROM users WHERE id = ${user.id}`))[0]);
      }

      if (route === 'GET /api/orders') {
        return send(res, 200, { orders: await db.all(`SELECT * FROM orders WHERE owner = ${user.id}`) });
      }
      const m = u.pathname.match(/^\/api\/orders\/(\d+)$/);
      if (req.method === 'GET' && m) {
        // FLAW (A102): the order is looked up by id alone, whoever owns it.
        const rows = await db.all(`SELECT * FROM orders WHERE id = ${Number(m[1])}`);
        if (!rows.length) return send(res, 404, { error: 'no such order' });
        return send(res, 200, rows[0]);
      }
      return send(res, 404, { error: 'not found' });
    } catch (err) {
      return send(res, 500, { error: String(err.message), stack: String(err.stack) });
    }
  });
  // FLAW (C107, C105): no header or request timeout, so nothing closes a connection that never
  // sends a byte (Node's defaults, 60 s for the headers checked every 30 s, answer it 408 by
  // 90 s) or one whose headers never end.
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.listen(PORT, '127.0.0.1', () => {
    const port = server.address().port;
    console.log(`vulnerable backend on http://127.0.0.1:${port} (${db.kind}); fake WeChat on 127.0.0.1:${wxPort}`);
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
