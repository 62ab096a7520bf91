'use strict';
// Encrypted local storage: AES-256-GCM under the per-user key from GET /v1/me/storage-key.
//
// Stored text: mg1.<key_id>.<nonce b64url>.<ciphertext b64url>
//   key_id      decimal id of the server's storage key that sealed the value
//   nonce       12 random bytes, fresh for every write
//   ciphertext  AES-256-GCM of the UTF-8 JSON of the value, with the 16-byte tag appended;
//               the associated data is the UTF-8 storage key name, so a value moved to
//               another name fails to open.

const { gcm } = require('@noble/ciphers/aes');
const { MiniguardError } = require('./errors');
const { utf8Encode, utf8Decode, b64urlEncode, b64urlDecode } = require('./encoding');
const { internals } = require('./client');

const VERSION = 'mg1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

function checkName(name) {
  if (typeof name !== 'string' || name === '') {
    throw new MiniguardError('invalid_request', 'a storage key name must be a non-empty string');
  }
}

function parse(name, text) {
  const bad = (why) =>
    new MiniguardError('storage_format', 'stored value for ' + JSON.stringify(name) + ' is not a miniguard value: ' + why);
  if (typeof text !== 'string') throw bad('not text');
  const parts = text.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw bad('expected mg1.<key_id>.<nonce>.<ciphertext>');
  if (!/^(0|[1-9][0-9]{0,14})$/.test(parts[1])) throw bad('bad key id');
  const nonce = b64urlDecode(parts[2]);
  if (!nonce || nonce.length !== NONCE_BYTES) throw bad('bad nonce');
  const sealed = b64urlDecode(parts[3]);
  if (!sealed || sealed.length < TAG_BYTES) throw bad('bad ciphertext');
  return { keyId: Number(parts[1]), nonce, sealed };
}

/**
 * Encrypted storage bound to a client: `set(name, value)`, `get(name)`, `remove(name)`, all
 * returning Promises. Values are anything JSON can hold. The storage key is fetched (signed) after
 * login and kept in memory only; `get` of a missing name resolves `null`.
 *
 * Options: `storage` `{ getItem, setItem, removeItem }` (synchronous, like wx.getStorageSync),
 * defaulting to the client's `storage` option, then to the platform's storage.
 */
function secureStorage(client, options) {
  const inner = internals.get(client);
  if (!inner) throw new MiniguardError('invalid_request', 'secureStorage() needs a client made by createClient()');
  const store = (options && options.storage) || inner.storage;
  if (!store || typeof store.getItem !== 'function' || typeof store.setItem !== 'function' || typeof store.removeItem !== 'function') {
    throw new MiniguardError('storage', 'no storage: pass { getItem, setItem, removeItem } or run inside the mini-program');
  }

  function io(fn) {
    try {
      return fn();
    } catch (e) {
      throw new MiniguardError('storage', 'platform storage failed: ' + ((e && (e.errMsg || e.message)) || String(e)));
    }
  }

  return {
    async set(name, value) {
      checkName(name);
      const json = JSON.stringify(value);
      if (typeof json !== 'string') throw new MiniguardError('invalid_request', 'value cannot be stored as JSON');
      const { key, keyId } = await inner.storageKey();
      const nonce = await inner.random(NONCE_BYTES);
      const sealed = gcm(key, nonce, utf8Encode(name)).encrypt(utf8Encode(json));
      io(() => store.setItem(name, VERSION + '.' + keyId + '.' + b64urlEncode(nonce) + '.' + b64urlEncode(sealed)));
    },

    async get(name) {
      checkName(name);
      const text = io(() => store.getItem(name));
      if (text === undefined || text === null || text === '') return null;
      const { keyId, nonce, sealed } = parse(name, text);
      const current = await inner.storageKey();
      if (keyId !== current.keyId) {
        throw new MiniguardError(
          'storage_wrong_key',
          'stored value for ' + JSON.stringify(name) + ' was sealed with storage key ' + keyId +
            ', but the current key is ' + current.keyId + '; it cannot be opened',
          { keyId, currentKeyId: current.keyId }
        );
      }
      let plain;
      try {
        plain = gcm(current.key, nonce, utf8Encode(name)).decrypt(sealed);
      } catch (e) {
        throw new MiniguardError(
          'storage_tampered',
          'stored value for ' + JSON.stringify(name) + ' failed authentication: it was changed, ' +
            'moved from another name, or sealed for another user'
        );
      }
      // Authenticated plaintext comes from set(), so it is UTF-8 JSON; anything else (another
      // writer holding the same key) is reported, not returned.
      try {
        return JSON.parse(utf8Decode(plain));
      } catch (e) {
        throw new MiniguardError('storage_format', 'stored value for ' + JSON.stringify(name) + ' does not hold JSON');
      }
    },

    async remove(name) {
      checkName(name);
      io(() => store.removeItem(name));
    },
  };
}

module.exports = { secureStorage, VERSION };
