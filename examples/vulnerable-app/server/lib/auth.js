const jwt = require('jsonwebtoken')

const JWT_SECRET = process.env.JWT_SECRET

// Reads the user from the bearer token.
function currentUser(req) {
  const token = (req.headers.authorization || '').replace('Bearer ', '')
  return jwt.decode(token)
}

function verifyAdmin(token) {
  return jwt.verify(token, JWT_SECRET, { algorithms: ['HS256', 'none'] })
}

module.exports = { currentUser, verifyAdmin }
