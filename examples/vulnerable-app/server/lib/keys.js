// Credentials for the object storage and the payment gateway.
module.exports = {
  cos: {
    secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA',
    bucket: 'deepshop-1250000000',
  },
  alipayPrivateKey: `-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH
lWu2/a1gB9JW5TBQ+AVpum9Okx7KfqkfBKL9mcHgSL0yWMdjMfNOqNtrQqKlN4kE
-----END RSA PRIVATE KEY-----`,
}
