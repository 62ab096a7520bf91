import { getCurrentInstance } from '@tarojs/taro'
import { WebView } from '@tarojs/components'

export default function Page() {
  // Flaw: the web-view opens whatever URL the link carries.
  const url = decodeURIComponent(getCurrentInstance().router?.params.url || '')
  return <WebView src={url} />
}
