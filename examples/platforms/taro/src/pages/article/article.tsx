import { useRouter } from '@tarojs/taro'
import { View, Text, RichText } from '@tarojs/components'
import { get } from '../../utils/request'

const NOTICE = '<p>Tickets are not refundable.</p>'

export default function Article() {
  const router = useRouter()
  const body = decodeURIComponent(router.params.body || '')
  get('/articles/' + router.params.id)
  return (
    <View>
      {/* Flaws: markup from the link, as innerHTML (H5 build) and as rich-text nodes. */}
      <View dangerouslySetInnerHTML={{ __html: body }} />
      <RichText nodes={decodeURIComponent(router.params.summary || '')} />
      {/* Look-alikes: constant markup, and the title shown as text. */}
      <RichText nodes={NOTICE} />
      <Text>{router.params.title}</Text>
    </View>
  )
}
