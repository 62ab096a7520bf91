Page({
  data: { url: '' },
  onLoad(query) {
    // Flaw: the web-view opens whatever URL the link carries.
    this.setData({ url: decodeURIComponent(query.url) })
  },
})
