const jwt = require('jsonwebtoken')

const JWT_SECRET = process.env.JWT_SECRET

function verifyAdmin(token) {
  return jwt.verify(token, JWT_SECRET, { algorithms: ['HS256', 'none'] })
}

module.exports = { verifyAdmin }
