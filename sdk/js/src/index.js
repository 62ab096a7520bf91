'use strict';
// miniguard-sdk: the mini-program side of miniguard.

const { createClient } = require('./client');
const { secureStorage } = require('./storage');
const { MiniguardError } = require('./errors');
const signing = require('./signing');
const encoding = require('./encoding');

module.exports = {
  createClient,
  secureStorage,
  MiniguardError,
  canonicalQuery: signing.canonicalQuery,
  canonicalRequest: signing.canonicalRequest,
  bodySha256: signing.bodySha256,
  sign: signing.sign,
  signatureHeaders: signing.signatureHeaders,
  utf8Encode: encoding.utf8Encode,
  utf8Decode: encoding.utf8Decode,
  b64urlEncode: encoding.b64urlEncode,
  b64urlDecode: encoding.b64urlDecode,
};
