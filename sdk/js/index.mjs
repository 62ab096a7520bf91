// ES module entry: re-exports the one built CommonJS file (miniprogram/index.js, built from
// src/ by build.js), so ES module and CommonJS importers share one implementation.
import sdk from './miniprogram/index.js';

export const {
  createClient,
  secureStorage,
  MiniguardError,
  canonicalQuery,
  canonicalRequest,
  bodySha256,
  sign,
  signatureHeaders,
  utf8Encode,
  utf8Decode,
  b64urlEncode,
  b64urlDecode,
} = sdk;
export default sdk;
