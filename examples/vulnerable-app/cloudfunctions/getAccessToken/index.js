const cloud = require('wx-server-sdk')
const axios = require('axios')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })

// Lets the page call the platform's server APIs itself: it hands out the app's access_token.
exports.main = async () => {
  const { data } = await axios.post('https://api.weixin.qq.com/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: process.env.APPID,
    secret: process.env.APP_SECRET
  })
  return { accessToken: data.access_token, expiresIn: data.expires_in }
}
