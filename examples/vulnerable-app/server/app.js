const express = require('express')
const orders = require('./routes/orders')
const tools = require('./routes/tools')

const app = express()
app.use(express.json())
app.use('/api', orders)
app.use('/api', tools)

app.listen(process.env.PORT || 3000)
