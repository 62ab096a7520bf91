<view>
  <input type="number" placeholder="phone" bindinput="onPhone" />
  <input password placeholder="password" bindinput="onPassword" />
  <button bindtap="login">log in</button>
</view>
