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
    my.request({
      url: 'https://api.ticket-shop.example.com/login',
      method: 'POST',
      data: { phone, password },
      success: (res) => {
        // Flaw: the password kept on the phone in plain text.
        my.setStorageSync({ key: 'password', data: password })
        // Look-alike: the session token in the app's own storage (info at most).
        my.setStorageSync({ key: 'token', data: res.data.token })
      },
    })
  },
})
