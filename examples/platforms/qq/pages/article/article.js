const request = require('../../utils/request')

Page({
  data: { body: '', notice: '<p>Tickets are not refundable.</p>', title: '' },
  onLoad(query) {
    // Flaw: markup from the link. Look-alike: the title is shown as text.
    this.setData({ body: decodeURIComponent(query.body || ''), title: query.title })
    request.get('/articles/' + query.id)
  },
})
