const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// Puts goods into the caller's cart; checkout prices the cart lines as price * num.
exports.main = async (event) => {
  const { OPENID } = cloud.getWXContext()
  const { goodsId, num } = event
  const goods = await db.collection('goods').doc(goodsId).get()
  if (!goods.data || goods.data.stock < num) {
    return { errcode: 1, errmsg: 'out of stock' }
  }
  return db.collection('cart').add({
    data: { _openid: OPENID, goodsId, num, price: goods.data.price, createdAt: db.serverDate() }
  })
}
