const db = wx.cloud.database()

Page({
  data: { results: [], keyword: '' },
  onInput(e) {
    this.setData({ keyword: e.detail.value })
  },
  search() {
    wx.cloud.callFunction({
      name: 'getOrders',
      data: { query: { status: this.data.keyword }, openid: wx.getStorageSync('openid') },
      success: (res) => this.setData({ results: res.result.data }),
    })
  },
  recent() {
    return db.collection('goods').orderBy('createdAt', 'desc').limit(10).get()
  },
})
