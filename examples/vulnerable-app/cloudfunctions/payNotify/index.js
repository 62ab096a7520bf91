const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// The payment callback named by `pay` (functionName: 'payNotify').
exports.main = async (event) => {
  const { outTradeNo, resultCode, transactionId } = event
  if (resultCode !== 'SUCCESS') {
    return { errcode: 0, errmsg: '' }
  }
  await db.collection('orders').where({ orderNo: outTradeNo }).update({
    data: { status: 'paid', transactionId, paidAt: db.serverDate() }
  })
  return { errcode: 0, errmsg: '' }
}
