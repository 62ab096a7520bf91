import { API_BASE } from '../config'

export function get(path, data) {
  return new Promise((resolve, reject) => {
    uni.request({ url: API_BASE + path, data, success: (res) => resolve(res.data), fail: reject })
  })
}
