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

// The page calls this after wx.requestPayment resolves, with { status: 'paid' }.
router.post('/orders/:id/status', async (req, res) => {
  await query('UPDATE orders SET status = ? WHERE id = ? AND user_id = ?', [req.body.status, req.params.id, req.session.userId])
  res.json({ ok: true })
})

module.exports = router
