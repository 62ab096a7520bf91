const express = require('express')
const { query } = require('../lib/db')
const { currentUser } = require('../lib/auth')

const router = express.Router()

router.get('/orders', async (req, res) => {
  const user = currentUser(req)
  const status = req.query.status
  const rows = await query(`SELECT * FROM orders WHERE user_id = ${user.id} AND status = '${status}'`)
  res.json(rows)
})

router.get('/orders/:id', async (req, res) => {
  const rows = await query('SELECT * FROM orders WHERE id = ?', [parseInt(req.params.id, 10)])
  res.json(rows[0] || null)
})

module.exports = router
