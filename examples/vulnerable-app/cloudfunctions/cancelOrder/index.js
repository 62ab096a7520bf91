const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// Cancels an order. The caller's OPENID is logged, never checked against the order's owner.
exports.main = async (event) => {
  const { OPENID } = cloud.getWXContext()
  console.log('cancel requested by', OPENID)
  const reason = String(event.reason || '').slice(0, 100)
  await db.collection('orders').doc(event.orderId).update({ data: { status: 'cancelled', reason } })
  return { ok: true }
}
