const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// The safe way: the caller's identity comes from the platform, never from the event.
exports.main = async (event) => {
  const { OPENID } = cloud.getWXContext()
  const nickname = String(event.nickname || '').slice(0, 32)
  await db.collection('users').where({ _openid: OPENID }).update({ data: { nickname } })
  return { ok: true }
}
