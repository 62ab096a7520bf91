// The H5 search page opened in a web-view from the mini-program.
const params = new URLSearchParams(location.search)
const keyword = params.get('q') || ''

document.getElementById('title').innerHTML = '搜索：' + keyword
document.getElementById('count').textContent = keyword.length
