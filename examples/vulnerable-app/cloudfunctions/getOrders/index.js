const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// Lists the caller's orders, filtered by the query the client sends.
exports.main = async (event, context) => {
  const orders = db.collection('orders')
  const mine = await orders.where({ _openid: event.openid }).get()
  const filtered = await orders.where(event.query).limit(20).get()
  return { mine: mine.data, filtered: filtered.data }
}
