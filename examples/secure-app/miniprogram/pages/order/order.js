'use strict';
// Places an order for the goods picked on the goods page, delivered to an address that is
// saved on the server (encrypted at rest) and remembered on the device (encrypted storage).
const shop = require('../../lib/shop');

Page({
  data: {
    goods: null,
    quantity: 1,
    address: { label: 'home', recipient: '', phone: '', address: '' },
    placed: null,
    busy: false,
    error: '',
  },

  async onLoad() {
    const goods = getApp().globalData.selected;
    if (!goods) {
      this.setData({ error: 'Pick something on the goods page first' });
      return;
    }
    this.setData({ goods });
    try {
      const saved = await shop.addressBook().load();
      if (saved) this.setData({ address: saved });
    } catch (e) {
      // A value sealed for another user or an older key cannot be opened: start empty.
      this.setData({ address: this.data.address });
    }
  },

  onQuantity(event) {
    this.setData({ quantity: Number(event.detail.value) || 1 });
  },

  onAddress(event) {
    const field = event.currentTarget.dataset.field;
    this.setData({ address: Object.assign({}, this.data.address, { [field]: event.detail.value }) });
  },

  async submit() {
    if (!this.data.goods || this.data.busy) return;
    this.setData({ busy: true, error: '' });
    try {
      const address = await shop.saveAddress(this.data.address);
      const order = await shop.placeOrder({ item: this.data.goods.id, quantity: this.data.quantity, address: address.id });
      await shop.addressBook().save(this.data.address);
      this.setData({ busy: false, placed: { id: order.id, quantity: order.quantity } });
      wx.showToast({ title: 'Order placed' });
    } catch (e) {
      this.setData({ busy: false, error: shop.describeError(e) });
    }
  },
});
