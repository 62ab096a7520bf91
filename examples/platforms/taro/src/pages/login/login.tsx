import { useState } from 'react'
import Taro from '@tarojs/taro'
import { View, Input, Button } from '@tarojs/components'

export default function Login() {
  const [phone, setPhone] = useState('')
  const [password, setPassword] = useState('')
  const login = async () => {
    const res = await Taro.request({
      url: 'https://api.ticket-shop.example.com/login',
      method: 'POST',
      data: { phone, password },
    })
    // Flaw: the password kept on the phone in plain text.
    Taro.setStorageSync('password', password)
    // Look-alike: the session token in the app's own storage (info at most).
    Taro.setStorageSync('token', res.data.token)
  }
  return (
    <View>
      <Input type="number" onInput={(e) => setPhone(e.detail.value)} />
      <Input password onInput={(e) => setPassword(e.detail.value)} />
      <Button onClick={login}>log in</Button>
    </View>
  )
}
