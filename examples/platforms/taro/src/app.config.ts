export default defineAppConfig({
  pages: ['pages/index/index', 'pages/article/article', 'pages/webview/webview', 'pages/login/login'],
})
