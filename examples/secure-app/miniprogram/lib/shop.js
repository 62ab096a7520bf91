'use strict';
// The shop's calls to its backend (`miniguard serve --config ../miniguard.toml`), every one
// signed by miniguard-sdk. The collections and who may do what are declared in miniguard.toml:
// goods (every signed-in user reads), orders (the buyer's own), addresses (the owner's only,
// encrypted at rest on the server).

const { createClient, secureStorage, MiniguardError } = require('miniguard-sdk');
const config = require('../config');

let client = null;
let box = null;
let loggingIn = null;

/** The one client of the app: wx.request, wx.login, wx.getRandomValues, wx storage. */
function getClient() {
  if (!client) client = createClient({ baseUrl: config.baseUrl, platform: 'wechat' });
  return client;
}

/** Logs in once (wx.login, then POST /v1/auth/wechat/login); concurrent callers share it. */
function ensureLogin() {
  const c = getClient();
  if (c.isLoggedIn()) return Promise.resolve(c);
  if (!loggingIn) {
    loggingIn = c.login().then(
      () => {
        loggingIn = null;
        return c;
      },
      (e) => {
        loggingIn = null;
        throw e;
      }
    );
  }
  return loggingIn;
}

/** Runs `fn(client)` logged in; when the session has ended (login_required), logs in again once. */
async function withClient(fn) {
  const c = await ensureLogin();
  try {
    return await fn(c);
  } catch (e) {
    if (!(e instanceof MiniguardError) || e.code !== 'login_required') throw e;
    return fn(await ensureLogin());
  }
}

function records(collection) {
  return '/v1/collections/' + collection + '/records';
}

/** The goods on sale, cheapest first: [{ id, name, price_cents, status, description }]. */
async function listGoods() {
  const res = await withClient((c) =>
    c.request({ path: records('goods'), query: { filter: 'status = "on_sale"', sort: 'price_cents' } })
  );
  return res.data.items;
}

/** The user's own orders, newest first. */
async function listOrders() {
  const res = await withClient((c) => c.request({ path: records('orders') }));
  return res.data.items;
}

/** Saves a delivery address (its recipient, phone and address are encrypted on the server). */
async function saveAddress(address) {
  const res = await withClient((c) => c.request({ method: 'POST', path: records('addresses'), data: address }));
  return res.data;
}

/** Places an order for `quantity` of the goods `item`, delivered to the address `address`. */
async function placeOrder(order) {
  const res = await withClient((c) => c.request({ method: 'POST', path: records('orders'), data: order }));
  return res.data;
}

/**
 * The last delivery address, kept on the device encrypted (AES-256-GCM under the user's
 * storage key from the server), so a copied storage file does not give it away.
 */
function addressBook() {
  if (!box) box = secureStorage(getClient());
  return {
    load: () => withClient(() => box.get('last-address')),
    save: (address) => withClient(() => box.set('last-address', address)),
  };
}

/** A message for the user; the request id lets support find the server's log line. */
function describeError(e) {
  if (e instanceof MiniguardError && e.code === 'http') {
    return (e.title || 'Request refused') + (e.requestId ? ' (request ' + e.requestId + ')' : '');
  }
  if (e instanceof MiniguardError && e.code === 'transport') return 'The network is not available; try again';
  return 'Something went wrong; try again';
}

module.exports = { getClient, ensureLogin, listGoods, listOrders, saveAddress, placeOrder, addressBook, describeError };
