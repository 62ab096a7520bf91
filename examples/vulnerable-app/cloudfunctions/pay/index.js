const cloud = require('wx-server-sdk')

cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })

// Starts the payment of an order, for the amount the page sends.
exports.main = async (event) => {
  const wxContext = cloud.getWXContext()
  const fen = Math.round(Number(event.total) * 100)
  return cloud.cloudPay.unifiedOrder({
    functionName: 'payNotify',
    envId: wxContext.ENV,
    subMchId: '1900000109',
    nonceStr: String(Date.now()),
    outTradeNo: String(event.orderNo),
    totalFee: Number(event.total) * 100,
    spbillCreateIp: wxContext.CLIENTIP,
    body: 'DeepShop order ' + fen
  })
}
