const env = require('../../config/index')
const { saveSession } = require('../../utils/request')
const { hexMD5 } = require('../../utils/md5')

Page({
  data: { phone: '', password: '' },

  onPhoneInput(e) {
    this.setData({ phone: e.detail.value })
  },
  onPasswordInput(e) {
    this.setData({ password: e.detail.value })
  },

  // Exchanges the login code for a session directly with the WeChat API: the AppSecret ships
  // inside the mini-program package.
  wechatLogin() {
    wx.login({
      success: (res) => {
        wx.request({
          url: 'https://api.weixin.qq.com/sns/jscode2session',
          data: { appid: env.appId, secret: env.appSecret, js_code: res.code, grant_type: 'authorization_code' },
          success: (r) => {
            const sessionKey = r.data.session_key
            wx.setStorageSync('session_key', sessionKey)
            saveSession({ token: r.data.openid })
          },
        })
      },
    })
  },

  passwordLogin() {
    const { phone, password } = this.data
    wx.setStorageSync('password', password)
    wx.request({
      url: 'https://api.deepshop.example.com/v2/login',
      method: 'POST',
      data: { phone, password: hexMD5(password) },
      success: (res) => saveSession(res.data),
    })
  },
})
