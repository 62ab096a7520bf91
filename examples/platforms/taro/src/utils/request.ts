import Taro from '@tarojs/taro'
import { API_BASE } from '../config'

export function get(path: string, data?: Record<string, string>) {
  return Taro.request({ url: API_BASE + path, data }).then((res) => res.data)
}
