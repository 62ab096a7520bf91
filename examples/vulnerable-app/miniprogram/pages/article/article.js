const { request } = require('../../utils/request')

Page({
  data: { article: {}, preview: '' },
  onLoad(options) {
    // Preview mode renders the HTML passed in the link, so editors can share drafts.
    if (options.preview) {
      this.setData({ preview: decodeURIComponent(options.preview) })
    }
    request('/articles/' + options.id).then((article) => {
      this.setData({ article })
    })
  },
})
