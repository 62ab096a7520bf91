const jwt = require('jsonwebtoken')

// Reads the user from the bearer token.
function currentUser(req) {
  const token = (req.headers.authorization || '').replace('Bearer ', '')
  return jwt.decode(token)
}

module.exports = { currentUser }
