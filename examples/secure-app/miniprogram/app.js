'use strict';
// Logs in silently at launch (wx.login through miniguard-sdk); pages wait for it through
// lib/shop.js, which also logs in again when a session has ended.
const shop = require('./lib/shop');

App({
  globalData: {
    // The goods the user picked on the goods page, for the order page.
    selected: null,
  },

  onLaunch() {
    this.ready = shop.ensureLogin().catch((e) => {
      wx.showToast({ title: shop.describeError(e), icon: 'none' });
    });
    return this.ready;
  },
});
