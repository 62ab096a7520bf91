<web-view src="{{url}}"></web-view>
