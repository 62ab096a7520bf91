// Environment configuration shared by every page.
const env = {
  apiBase: 'http://api.deepshop.example.com/v2',
  cdn: 'https://cdn.deepshop.example.com',
  appId: 'wx0123456789abcdef',
  appSecret: '9f86d081884c7d659a2feaa0c55ad015',
}

module.exports = env
