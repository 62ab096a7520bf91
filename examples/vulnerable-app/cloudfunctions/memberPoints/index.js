const cloud = require('wx-server-sdk')
const got = require('got')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })

const CRM = 'https://crm.deepshop.example.com'

// The member's points, from the company CRM, which trusts logins by unionid.
exports.main = async (event) => {
  const { unionid } = event
  const login = await got.post(`${CRM}/api/account/login`, {
    json: { loginMethod: 'unionid', unionid }
  }).json()
  const points = await got(`${CRM}/api/member/points`, {
    headers: { accessToken: login.AccessToken }
  }).json()
  return { points: points.total }
}
