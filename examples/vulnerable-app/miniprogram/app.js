const { request } = require('./utils/request')

App({
  globalData: {
    userInfo: null,
  },
  onLaunch() {
    const token = wx.getStorageSync('token')
    if (token) {
      request('/user/me').then((user) => {
        this.globalData.userInfo = user
      })
    }
  },
})
