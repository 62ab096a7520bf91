const mysql = require('mysql2')

const pool = mysql.createPool({
  host: '10.0.3.12',
  user: 'deepshop',
  password: 'Deepsh0p!2023',
  database: 'deepshop',
})

function query(sql, params) {
  return new Promise((resolve, reject) => {
    pool.query(sql, params, (err, rows) => (err ? reject(err) : resolve(rows)))
  })
}

module.exports = { query }
