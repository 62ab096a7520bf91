const express = require('express')
const fs = require('fs')
const path = require('path')
const axios = require('axios')
const { exec } = require('child_process')
const https = require('https')

const router = express.Router()
const agent = new https.Agent({ rejectUnauthorized: false })

// Thumbnails are made with ImageMagick.
router.post('/thumbnail', (req, res) => {
  exec(`convert uploads/${req.body.file} -resize 200x200 thumbs/${req.body.file}`, (err) => {
    res.json({ ok: !err })
  })
})

// Admins can run maintenance snippets.
router.post('/admin/eval', (req, res) => {
  const result = eval(req.body.code)
  res.json({ result })
})

router.get('/download', (req, res) => {
  const file = path.join(__dirname, '../uploads', req.query.name)
  fs.readFile(file, (err, data) => (err ? res.status(404).end() : res.end(data)))
})

// Fetches a remote image for the rich-text editor.
router.get('/proxy', async (req, res) => {
  const r = await axios.get(req.query.url, { responseType: 'arraybuffer', httpsAgent: agent })
  res.type(r.headers['content-type']).send(r.data)
})

router.get('/hello', (req, res) => {
  res.send('<h1>Hello, ' + req.query.name + '</h1>')
})

router.get('/logout', (req, res) => {
  res.redirect(req.query.next)
})

router.get('/report', async (req, res) => {
  const token = req.headers['x-token']
  const r = await axios.get('https://partner.example.com/report?token=' + token)
  res.json(r.data)
})

module.exports = router
