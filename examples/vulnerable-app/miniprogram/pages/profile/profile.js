const { request } = require('../../utils/request')
const { encryptLocal } = require('../../utils/crypto')

Page({
  data: { user: null },
  onLoad(options) {
    this.redirect = options.redirect
    request('/user/me').then((user) => {
      this.setData({ user })
      wx.setStorageSync('idCard', encryptLocal(user.idCard))
    })
  },
  copyToken() {
    const token = wx.getStorageSync('token')
    wx.setClipboardData({ data: token })
  },
  showNearbyStores() {
    wx.getLocation({
      type: 'gcj02',
      success: (loc) => request('/stores/nearby', { lat: loc.latitude, lng: loc.longitude }),
    })
  },
  done() {
    wx.redirectTo({ url: this.redirect })
  },
})
