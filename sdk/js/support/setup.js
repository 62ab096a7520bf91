'use strict';
const nodeCrypto = require('node:crypto');
const { createClient } = require('..');
const { createFakeServer, createClock } = require('./fake-server');

/** A client wired to a fresh fake server and a settable clock. */
function setup(extra, serverOptions) {
  const clock = createClock();
  const server = createFakeServer(clock, serverOptions);
  let n = 0;
  const user = (extra && extra.user) || 'alice';
  const options = Object.assign(
    {
      baseUrl: server.origin,
      platform: 'wechat',
      request: server.handle,
      now: clock.now,
      login: async () => `dev:${user}:${++n}`,
      getRandomValues: (a) => nodeCrypto.getRandomValues(a),
    },
    extra
  );
  delete options.user;
  const client = createClient(options);
  return { clock, server, client };
}

/** Another client (another device) on the same server. */
function another(server, clock, user, extra) {
  let n = 100;
  return createClient(
    Object.assign(
      {
        baseUrl: server.origin,
        platform: 'wechat',
        request: server.handle,
        now: clock.now,
        login: async () => `dev:${user}:${++n}`,
        getRandomValues: (a) => nodeCrypto.getRandomValues(a),
      },
      extra
    )
  );
}

/** Lets pending promise callbacks and immediates run, a bounded number of times. */
async function settle(until, rounds) {
  for (let i = 0; i < (rounds || 200); i++) {
    if (until && until()) return true;
    await new Promise((r) => setImmediate(r));
  }
  return until ? until() : true;
}

module.exports = { setup, another, settle };
