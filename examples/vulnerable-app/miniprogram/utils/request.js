const env = require('../config/index')

function request(path, data = {}, method = 'GET') {
  const token = wx.getStorageSync('token')
  return new Promise((resolve, reject) => {
    wx.request({
      url: env.apiBase + path,
      method,
      data,
      header: { Authorization: 'Bearer ' + token },
      success(res) {
        if (res.statusCode === 401) {
          wx.removeStorageSync('token')
          wx.navigateTo({ url: '/pages/login/login' })
          return
        }
        resolve(res.data)
      },
      fail: reject,
    })
  })
}

function saveSession(data) {
  wx.setStorageSync('token', data.token)
  console.log('login ok, token =', data.token)
}

module.exports = { request, saveSession }
