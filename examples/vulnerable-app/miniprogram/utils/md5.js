// A small MD5 helper (hexMD5) copied into many mini-programs; only its interface matters here.
function hexMD5(s) {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0
  return ('00000000' + (h >>> 0).toString(16)).slice(-8)
}
module.exports = { hexMD5 }
