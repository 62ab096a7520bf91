'use strict';

/**
 * Every error the SDK throws is a MiniguardError with a stable `code`:
 *
 * - `insecure_url`     the base URL is not https (or plain http outside the dev exception)
 * - `no_csprng`        the platform offers no cryptographically secure random source
 * - `invalid_request`  a method, path or query that cannot be signed as given
 * - `invalid_response` the server answered something this SDK cannot read
 * - `transport`        the request never got an answer (network, TLS, timeout)
 * - `login_failed`     the platform login (wx.login, ...) gave no code
 * - `login_required`   no session, or the session ended (refresh refused): call login()
 * - `http`             the server answered with an error status (see `status`, `type`)
 * - `storage_format`   a stored value is not in the `mg1.` format
 * - `storage_wrong_key` a stored value was encrypted under another storage key
 * - `storage_tampered` a stored value failed authentication (changed, or moved to another name)
 * - `storage`          the platform storage failed
 */
class MiniguardError extends Error {
  constructor(code, message, extra) {
    super(message);
    this.name = 'MiniguardError';
    this.code = code;
    if (extra) {
      for (const k of Object.keys(extra)) this[k] = extra[k];
    }
  }
}

module.exports = { MiniguardError };
