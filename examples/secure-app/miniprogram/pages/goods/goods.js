'use strict';
// The goods on sale; tapping one opens the order page with it.
const shop = require('../../lib/shop');

Page({
  data: {
    loading: true,
    goods: [],
    error: '',
  },

  onLoad() {
    return this.refresh();
  },

  onPullDownRefresh() {
    return this.refresh().then(() => wx.stopPullDownRefresh());
  },

  async refresh() {
    this.setData({ loading: true, error: '' });
    try {
      const items = await shop.listGoods();
      const goods = items.map((g) => ({ id: g.id, name: g.name, price: (g.price_cents / 100).toFixed(2) }));
      this.setData({ loading: false, goods });
    } catch (e) {
      this.setData({ loading: false, error: shop.describeError(e) });
    }
  },

  choose(event) {
    const picked = this.data.goods[event.currentTarget.dataset.index];
    if (!picked) return undefined;
    // Handed over in memory: nothing from the server goes into the page URL.
    getApp().globalData.selected = picked;
    return wx.navigateTo({ url: '/pages/order/order' });
  },
});
