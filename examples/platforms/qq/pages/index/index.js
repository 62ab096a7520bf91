const { CDN_BASE } = require('../../config')

Page({
  data: { next: '', id: '' },
  onLoad(query) {
    this.setData({ next: decodeURIComponent(query.next || ''), id: query.id })
    qq.request({ url: CDN_BASE + '/banners.json' })
  },
  // Flaw: the target page comes whole from the link.
  goNext() {
    qq.navigateTo({ url: this.data.next })
  },
  // Look-alike: a fixed page, the link only fills a parameter.
  goDetail() {
    qq.navigateTo({ url: '/pages/article/article?id=' + this.data.id })
  },
})
