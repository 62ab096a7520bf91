const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })
const db = cloud.database()

// The shop owner's product editor. The admin page hides the button from other users; the
// function itself checks nothing.
exports.main = async (event) => {
  const { _id, name, price, stock } = event.goods
  await db.collection('goods').doc(String(_id)).update({ data: { name, price, stock } })
  return { ok: true }
}
