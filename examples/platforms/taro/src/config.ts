// Two API hosts: the old one still over plain http.
export const API_BASE = 'http://api.ticket-shop.example.com'
export const CDN_BASE = 'https://cdn.ticket-shop.example.com'
