const { API_BASE } = require('../config')

function get(path, data) {
  return new Promise((resolve, reject) => {
    tt.request({ url: API_BASE + path, data, success: (res) => resolve(res.data), fail: reject })
  })
}

module.exports = { get }
