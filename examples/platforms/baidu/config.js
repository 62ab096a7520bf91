// Two API hosts: the old one still over plain http.
module.exports = {
  API_BASE: 'http://api.ticket-shop.example.com',
  CDN_BASE: 'https://cdn.ticket-shop.example.com',
}
