'use strict';
// Adapters for the three mini-program platforms: request, login code, synchronous storage.
// Each is callback-based on the platform; here they are promisified and normalised.

const { MiniguardError } = require('./errors');

const PLATFORMS = ['wechat', 'alipay', 'douyin'];

/** The platform's global API object (`wx`, `my`, `tt`), or undefined outside a mini-program. */
function globalApi(platform) {
  /* global wx, my, tt */
  try {
    if (platform === 'wechat' && typeof wx === 'object') return wx;
    if (platform === 'alipay' && typeof my === 'object') return my;
    if (platform === 'douyin' && typeof tt === 'object') return tt;
  } catch (e) {
    // A sandbox that throws on an undeclared global: no platform API.
  }
  return undefined;
}

function errMsg(err) {
  return (err && (err.errMsg || err.errorMessage || err.message)) || String(err);
}

/**
 * A transport over `wx.request` / `my.request` / `tt.request`:
 * `({ url, method, headers, body }) => Promise<{ status, headers, body }>` where `body` is the
 * exact text to send ('' for none) and the answer's `body` is text (or an already parsed value
 * when the platform insists on parsing).
 */
function platformTransport(platform, api) {
  if (!api || typeof api.request !== 'function') return undefined;
  return (req) =>
    new Promise((resolve, reject) => {
      const options = {
        url: req.url,
        method: req.method,
        // 'text' keeps the platform from parsing (and re-serialising) JSON for us.
        dataType: 'text',
        responseType: 'text',
        success: (res) =>
          resolve({
            status: res.statusCode !== undefined ? res.statusCode : res.status,
            headers: res.header || res.headers || {},
            body: res.data,
          }),
        fail: (err) => reject(new MiniguardError('transport', 'request failed: ' + errMsg(err))),
      };
      if (platform === 'alipay') options.headers = req.headers;
      else options.header = req.headers;
      // The body goes out as the same string that was hashed for the signature.
      if (req.body !== '') options.data = req.body;
      api.request(options);
    });
}

/** `() => Promise<code>`: wx.login / tt.login give `code`, my.getAuthCode gives `authCode`. */
function platformLogin(platform, api) {
  return () =>
    new Promise((resolve, reject) => {
      const fail = (err) => reject(new MiniguardError('login_failed', 'platform login failed: ' + errMsg(err)));
      const done = (code) =>
        typeof code === 'string' && code !== ''
          ? resolve(code)
          : reject(new MiniguardError('login_failed', 'the platform login returned no code'));
      if (platform === 'alipay') {
        if (!api || typeof api.getAuthCode !== 'function') return fail('my.getAuthCode is not available');
        api.getAuthCode({ scopes: 'auth_base', success: (res) => done(res && res.authCode), fail });
      } else {
        if (!api || typeof api.login !== 'function') return fail('login() is not available');
        api.login({ success: (res) => done(res && res.code), fail });
      }
      return undefined;
    });
}

/** `{ getItem, setItem, removeItem }` over the platform's synchronous storage. */
function platformStorage(platform, api) {
  if (!api || typeof api.getStorageSync !== 'function') return undefined;
  if (platform === 'alipay') {
    return {
      getItem: (key) => {
        const res = api.getStorageSync({ key });
        return res ? res.data : null;
      },
      setItem: (key, value) => api.setStorageSync({ key, data: value }),
      removeItem: (key) => api.removeStorageSync({ key }),
    };
  }
  return {
    getItem: (key) => api.getStorageSync(key),
    setItem: (key, value) => api.setStorageSync(key, value),
    removeItem: (key) => api.removeStorageSync(key),
  };
}

module.exports = { PLATFORMS, globalApi, platformTransport, platformLogin, platformStorage };
