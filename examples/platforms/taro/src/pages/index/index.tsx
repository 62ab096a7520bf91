import Taro, { useRouter } from '@tarojs/taro'
import { View, Button } from '@tarojs/components'
import { CDN_BASE } from '../../config'

export default function Index() {
  const { params } = useRouter()
  Taro.request({ url: CDN_BASE + '/banners.json' })
  return (
    <View>
      {/* Flaw: the target page comes whole from the link. */}
      <Button onClick={() => Taro.navigateTo({ url: decodeURIComponent(params.next || '') })}>next</Button>
      {/* Look-alike: a fixed page, the link only fills a parameter. */}
      <Button onClick={() => Taro.navigateTo({ url: '/pages/article/article?id=' + params.id })}>detail</Button>
    </View>
  )
}
