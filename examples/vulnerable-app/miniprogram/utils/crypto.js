const CryptoJS = require('./crypto-js')

const KEY = CryptoJS.enc.Utf8.parse('deepshop-aes-key')

function encryptLocal(text) {
  return CryptoJS.AES.encrypt(text, KEY, { mode: CryptoJS.mode.ECB, padding: CryptoJS.pad.Pkcs7 }).toString()
}

module.exports = { encryptLocal }
