Page({
  data: { phone: '', password: '' },
  onPhone(e) {
    this.setData({ phone: e.detail.value })
  },
  onPassword(e) {
    this.setData({ password: e.detail.value })
  },
  login() {
    const { phone, password } = this.data
    swan.request({
      url: 'https://api.ticket-shop.example.com/login',
      method: 'POST',
      data: { phone, password },
      success: (res) => {
        // Flaw: the password kept on the phone in plain text.
        swan.setStorageSync('password', password)
        // Look-alike: the session token in the app's own storage (info at most).
        swan.setStorageSync('token', res.data.token)
      },
    })
  },
})
