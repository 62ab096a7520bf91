<view>
  <rich-text nodes="{{body}}"></rich-text>
  <rich-text nodes="{{notice}}"></rich-text>
  <view qq:if="{{title}}">{{title}}</view>
</view>
