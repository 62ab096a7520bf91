const { request } = require('../../utils/request')

Page({
  data: { goods: [], loading: true },
  onLoad() {
    request('/goods', { page: 1 }).then((list) => {
      this.setData({ goods: list, loading: false })
    })
  },
  onTapGoods(e) {
    const id = e.currentTarget.dataset.id
    wx.navigateTo({ url: '/pages/article/article?id=' + id })
  },
})
