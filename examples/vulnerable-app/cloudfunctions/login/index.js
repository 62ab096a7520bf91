const cloud = require('wx-server-sdk')
const axios = require('axios')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })

const APPID = process.env.APPID
const SECRET = process.env.APPSECRET

exports.main = async (event) => {
  const url = 'https://api.weixin.qq.com/sns/jscode2session'
  const { data } = await axios.get(url, {
    params: { appid: APPID, secret: SECRET, js_code: event.code, grant_type: 'authorization_code' },
  })
  // Hands the session key to the client so it can decrypt the phone number itself.
  return { openid: data.openid, session_key: data.session_key }
}
