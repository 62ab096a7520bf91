// ES module entry: the same implementation as the CommonJS entry (src/index.js).
import sdk from './src/index.js';

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
