<view>
  <button bindtap="goNext">next</button>
  <button bindtap="goDetail">detail</button>
</view>
