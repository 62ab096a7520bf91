#!/usr/bin/env python3
"""Generate a deterministic mini-program corpus for benchmarking miniguard against semgrep.

The corpus is one WeChat project (project.config.json with miniprogramRoot and
cloudfunctionRoot), its mini-program pages and utils, cloud functions (wx-server-sdk) and an
express backend under server/. Files are 50-400 lines of ordinary, mostly clean code; about 5%
of the JavaScript files carry one planted flaw of a kind miniguard looks for. The same seed and
file count always give byte-identical output. No network is used.

    python3 bench/gen_corpus.py                 # 2,000 JS files into bench/corpus
    python3 bench/gen_corpus.py --files 10000   # a bigger corpus
    python3 bench/gen_corpus.py --out /tmp/c --seed 7 --flaw-rate 0.05

A summary (file counts, lines, bytes, planted flaws with their paths) is written to
MANIFEST.json at the corpus root.
"""

import argparse
import json
import os
import random
import shutil
import sys

DEFAULT_SEED = 20240601
DEFAULT_FILES = 2000
DEFAULT_FLAW_RATE = 0.05

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

ENTITIES = [
    "goods", "order", "cart", "coupon", "address", "member", "shop", "category", "comment",
    "refund", "invoice", "booking", "course", "lesson", "ticket", "activity", "notice", "points",
    "delivery", "store", "review", "favorite", "message", "wallet", "recharge", "group", "seckill",
    "banner", "article", "video", "doctor", "appointment", "room", "hotel", "trip", "parking",
]
FIELDS = [
    "title", "price", "status", "count", "cover", "desc", "tag", "stock", "level", "score",
    "remark", "phone", "nickname", "avatar", "amount", "discount", "city", "startTime",
    "endTime", "type", "sort", "total", "unit", "brand", "weight", "color", "size",
]
VERBS = ["load", "fetch", "refresh", "submit", "update", "remove", "toggle", "select", "check",
         "apply", "confirm", "cancel", "preview", "sync", "reset", "open", "close", "share"]
HOSTS = ["api.shop-demo.com", "mp.example-cloud.cn", "gw.youxuan.net", "api.campus-life.cn",
         "service.health-go.com", "api.ticketbox.cn", "m.fresh-mart.com", "open.parkeasy.cn"]
COLORS = ["#07c160", "#fa5151", "#ffc300", "#10aeff", "#576b95", "#333333", "#999999"]
TABLES = ["orders", "goods", "users", "coupons", "addresses", "comments", "refunds",
          "bookings", "tickets", "members", "payments", "stores"]


def camel(*words):
    out = words[0]
    for w in words[1:]:
        out += w[0].upper() + w[1:]
    return out


def pascal(word):
    return word[0].upper() + word[1:]


class Gen:
    """Randomised snippet factory: every call consumes the shared seeded RNG."""

    def __init__(self, rng):
        self.r = rng

    def ent(self):
        return self.r.choice(ENTITIES)

    def field(self):
        return self.r.choice(FIELDS)

    def fields(self, n):
        return self.r.sample(FIELDS, n)

    def host(self):
        return self.r.choice(HOSTS)

    def hexs(self, n):
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def uniq(self, base, used):
        name = base
        i = 2
        while name in used:
            name = f"{base}{i}"
            i += 1
        used.add(name)
        return name


# --------------------------------------------------------------------------------------------
# Mini-program page methods (members of the Page({...}) object)
# --------------------------------------------------------------------------------------------

def page_method_blocks(g, used, ctx):
    """Return one method definition (list of lines, indented for the Page object)."""
    r = g.r
    e = g.ent()
    f1, f2, f3 = g.fields(3)
    kind = r.randrange(12)
    if kind == 0:
        name = g.uniq(camel("fetch", e, "List"), used)
        return [
            f"  async {name}(reset = false) {{",
            "    if (this.data.loading) return",
            "    const page = reset ? 1 : this.data.page",
            "    this.setData({ loading: true })",
            "    try {",
            f"      const res = await get('/api/{e}/list', {{ page, size: this.data.pageSize, keyword: this.data.keyword }})",
            "      const rows = (res.list || []).map((item) => ({",
            "        ...item,",
            f"        {f1}Text: formatPrice(item.{f1}),",
            "        createdText: formatTime(item.createdAt),",
            "      }))",
            "      this.setData({",
            "        list: reset ? rows : this.data.list.concat(rows),",
            "        page: page + 1,",
            "        hasMore: rows.length >= this.data.pageSize,",
            "      })",
            "    } catch (err) {",
            f"      wx.showToast({{ title: '{e} load failed', icon: 'none' }})",
            "    } finally {",
            "      this.setData({ loading: false })",
            "      wx.stopPullDownRefresh()",
            "    }",
            "  },",
        ]
    if kind == 1:
        name = g.uniq(camel("on", pascal(f1), "Input"), used)
        return [
            f"  {name}(e) {{",
            "    const value = (e.detail.value || '').trim()",
            f"    this.setData({{ {f1}: value, {f1}Error: value.length > 0 && value.length < 2 }})",
            "  },",
        ]
    if kind == 2:
        name = g.uniq(camel("submit", e), used)
        return [
            f"  async {name}() {{",
            f"    const {{ {f1}, {f2} }} = this.data",
            f"    if (!{f1}) {{",
            f"      wx.showToast({{ title: 'Please fill in {f1}', icon: 'none' }})",
            "      return",
            "    }",
            "    if (this.data.phone && !/^1[3-9]\\d{9}$/.test(this.data.phone)) {",
            "      wx.showToast({ title: 'Invalid phone number', icon: 'none' })",
            "      return",
            "    }",
            "    wx.showLoading({ title: 'Submitting', mask: true })",
            "    try {",
            f"      const res = await post('/api/{e}/save', {{ {f1}, {f2}, id: this.data.id }})",
            "      wx.hideLoading()",
            "      if (res.code === 0) {",
            "        wx.showToast({ title: 'Saved' })",
            "        setTimeout(() => wx.navigateBack(), 800)",
            "      } else {",
            "        wx.showToast({ title: res.message || 'Failed', icon: 'none' })",
            "      }",
            "    } catch (err) {",
            "      wx.hideLoading()",
            "      console.error('submit failed', err)",
            "    }",
            "  },",
        ]
    if kind == 3:
        name = g.uniq(camel("calc", "Total"), used)
        return [
            f"  {name}() {{",
            "    let total = 0",
            "    let count = 0",
            "    for (const item of this.data.list) {",
            "      if (!item.checked) continue",
            f"      total += Number(item.{f1} || 0) * Number(item.count || 1)",
            "      count += item.count || 1",
            "    }",
            f"    const discount = this.data.{f2}Rate ? total * this.data.{f2}Rate : 0",
            "    this.setData({",
            "      totalPrice: formatPrice(total - discount),",
            "      checkedCount: count,",
            "      allChecked: count > 0 && this.data.list.every((i) => i.checked),",
            "    })",
            "  },",
        ]
    if kind == 4:
        name = g.uniq(camel("remove", e), used)
        return [
            f"  {name}(e) {{",
            "    const { id, index } = e.currentTarget.dataset",
            "    wx.showModal({",
            "      title: 'Confirm',",
            f"      content: 'Delete this {e}?',",
            f"      confirmColor: '{r.choice(COLORS)}',",
            "      success: async (res) => {",
            "        if (!res.confirm) return",
            f"        await post('/api/{e}/delete', {{ id }})",
            "        const list = this.data.list.slice()",
            "        list.splice(index, 1)",
            "        this.setData({ list })",
            "      },",
            "    })",
            "  },",
        ]
    if kind == 5:
        target = ctx["other_page"]()
        name = g.uniq(camel("goTo", e), used)
        return [
            f"  {name}(e) {{",
            "    const { id } = e.currentTarget.dataset",
            "    if (!id) return",
            f"    wx.navigateTo({{ url: `/pages/{target}/{target}?id=${{id}}&from={e}` }})",
            "  },",
        ]
    if kind == 6:
        name = g.uniq(camel("save", "History"), used)
        return [
            f"  {name}(keyword) {{",
            "    if (!keyword) return",
            f"    const history = wx.getStorageSync('{e}_search_history') || []",
            "    const next = [keyword].concat(history.filter((k) => k !== keyword)).slice(0, 10)",
            f"    wx.setStorageSync('{e}_search_history', next)",
            "    this.setData({ history: next })",
            "  },",
        ]
    if kind == 7:
        name = g.uniq(camel("choose", "Images"), used)
        return [
            f"  {name}() {{",
            "    wx.chooseMedia({",
            "      count: 9 - this.data.images.length,",
            "      mediaType: ['image'],",
            "      sizeType: ['compressed'],",
            "      success: (res) => {",
            "        res.tempFiles.forEach((file) => {",
            "          wx.uploadFile({",
            "            url: config.UPLOAD_URL,",
            "            filePath: file.tempFilePath,",
            "            name: 'file',",
            f"            formData: {{ scene: '{e}' }},",
            "            success: (up) => {",
            "              const data = JSON.parse(up.data)",
            "              this.setData({ images: this.data.images.concat(data.url) })",
            "            },",
            "          })",
            "        })",
            "      },",
            "    })",
            "  },",
        ]
    if kind == 8:
        name = g.uniq("onShareAppMessage", used)
        return [
            f"  {name}() {{",
            "    return {",
            f"      title: this.data.{f1} || 'Come and see this {e}',",
            f"      path: `/pages/{ctx['self']}/{ctx['self']}?id=${{this.data.id}}`,",
            "      imageUrl: this.data.cover,",
            "    }",
            "  },",
        ]
    if kind == 9:
        name = g.uniq(camel("start", "Countdown"), used)
        return [
            f"  {name}(seconds) {{",
            "    clearInterval(this.timer)",
            "    let left = seconds",
            "    this.timer = setInterval(() => {",
            "      left -= 1",
            "      if (left <= 0) {",
            "        clearInterval(this.timer)",
            f"        this.setData({{ countdown: '', {f1}Expired: true }})",
            "        return",
            "      }",
            "      const h = Math.floor(left / 3600)",
            "      const m = Math.floor((left % 3600) / 60)",
            "      const s = left % 60",
            "      this.setData({ countdown: [h, m, s].map((n) => String(n).padStart(2, '0')).join(':') })",
            "    }, 1000)",
            "  },",
        ]
    if kind == 10:
        name = g.uniq(camel("on", pascal(f1), "Change"), used)
        return [
            f"  {name}(e) {{",
            "    const index = Number(e.detail.value)",
            f"    const options = this.data.{f1}Options || []",
            "    this.setData({",
            f"      {f1}Index: index,",
            f"      {f1}: options[index] ? options[index].value : '',",
            "    })",
            f"    this.{camel('filter', 'By', f1)}()",
            "  },",
            f"  {g.uniq(camel('filter', 'By', f1), used)}() {{",
            f"    const value = this.data.{f1}",
            "    const all = this.data.allList || this.data.list",
            f"    const list = value ? all.filter((item) => item.{f1} === value) : all",
            "    this.setData({ list, allList: all, empty: list.length === 0 })",
            "  },",
        ]
    name = g.uniq(camel("load", e, "Detail"), used)
    return [
        f"  async {name}(id) {{",
        f"    const detail = await get(`/api/{e}/${{id}}`)",
        "    if (!detail) {",
        "      wx.showToast({ title: 'Not found', icon: 'none' })",
        "      return",
        "    }",
        f"    wx.setNavigationBarTitle({{ title: detail.{f1} || '{pascal(e)}' }})",
        "    this.setData({",
        "      detail,",
        f"      {f2}Text: formatPrice(detail.{f2}),",
        f"      {f3}List: (detail.{f3} || '').split(',').filter(Boolean),",
        "    })",
        "  },",
    ]


def page_flaw_block(g, kind, used):
    e = g.ent()
    if kind == "http_url":
        host = g.host()
        name = g.uniq(camel("report", e, "View"), used)
        g.bound = name
        return [
            f"  {name}() {{",
            "    // analytics endpoint without TLS",
            "    wx.request({",
            f"      url: 'http://{host}/track/{e}',",
            "      method: 'POST',",
            "      data: { page: this.route, ts: Date.now() },",
            "    })",
            "  },",
        ]
    if kind == "token_storage":
        name = g.uniq(camel("handle", "Login"), used)
        g.bound = name
        return [
            f"  async {name}() {{",
            "    const { code } = await wx.login()",
            "    const res = await post('/api/auth/login', { code })",
            "    const token = res.token",
            "    wx.setStorageSync('token', token)",
            "    wx.setStorageSync('userInfo', res.user)",
            "    app.globalData.user = res.user",
            "    wx.switchTab({ url: '/pages/index/index' })",
            "  },",
        ]
    raise ValueError(kind)


def page_js(g, name, utils, other_page, target_lines, flaw):
    r = g.r
    req = r.choice(utils["request"])
    fmt = r.choice(utils["format"])
    cfg = r.choice(utils["config"])
    used = set()
    f1, f2, f3 = g.fields(3)
    head = [
        f"// pages/{name}/{name}.js",
        "const app = getApp()",
        f"const {{ get, post }} = require('../../utils/{req}.js')",
        f"const {{ formatTime, formatPrice }} = require('../../utils/{fmt}.js')",
        f"const config = require('../../utils/{cfg}.js')",
        "",
        "Page({",
        "  data: {",
        "    id: '',",
        "    loading: false,",
        "    list: [],",
        "    images: [],",
        "    page: 1,",
        f"    pageSize: {r.choice([10, 20, 30])},",
        "    hasMore: true,",
        "    keyword: '',",
        f"    {f1}: '',",
        f"    {f2}: {r.randrange(0, 5)},",
        f"    {f3}Options: [],",
        "  },",
        "",
        "  onLoad(options) {",
        "    this.setData({ id: options.id || '', keyword: options.keyword || '' })",
        "  },",
        "",
        "  onShow() {",
        "    if (app.globalData.needRefresh) {",
        "      app.globalData.needRefresh = false",
        "      this.onPullDownRefresh()",
        "    }",
        "  },",
        "",
        "  onPullDownRefresh() {",
        "    this.setData({ page: 1, hasMore: true })",
        "  },",
        "",
        "  onUnload() {",
        "    clearInterval(this.timer)",
        "  },",
        "",
    ]
    tail = ["})", ""]
    ctx = {"other_page": other_page, "self": name}
    body = []
    if flaw:
        body += page_flaw_block(g, flaw, used) + [""]
    while len(head) + len(body) + len(tail) < target_lines:
        body += page_method_blocks(g, used, ctx) + [""]
    return "\n".join(head + body + tail)


def page_wxml(g, name):
    r = g.r
    f1, f2 = g.fields(2)
    e = g.ent()
    lines = [
        f"<!-- pages/{name}/{name}.wxml -->",
        "<view class=\"container\">",
        "  <view class=\"search-bar\">",
        "    <input placeholder=\"Search\" value=\"{{keyword}}\" bindconfirm=\"onSearch\" />",
        "  </view>",
        "  <block wx:if=\"{{list.length}}\">",
        "    <view wx:for=\"{{list}}\" wx:key=\"id\" class=\"item\" data-id=\"{{item.id}}\" data-index=\"{{index}}\">",
        "      <image class=\"cover\" src=\"{{item.cover}}\" mode=\"aspectFill\" lazy-load />",
        "      <view class=\"info\">",
        f"        <text class=\"title\">{{{{item.{f1}}}}}</text>",
        f"        <text class=\"sub\">{{{{item.{f2}}}}}</text>",
        "        <text class=\"time\">{{item.createdText}}</text>",
        "      </view>",
        "    </view>",
        "  </block>",
        f"  <view wx:else class=\"empty\">No {e} yet</view>",
    ]
    for _ in range(r.randrange(0, 4)):
        f = g.field()
        lines += [
            f"  <view class=\"row\" wx:if=\"{{{{{f}}}}}\">",
            f"    <text class=\"label\">{pascal(f)}</text>",
            f"    <text class=\"value\">{{{{{f}}}}}</text>",
            "  </view>",
        ]
    # A planted flaw sits in a handler the page binds: a scanner that knows which handlers
    # are reachable must still find it (no random draw here, so the rest stays as it was).
    bound, g.bound = getattr(g, "bound", None), None
    if bound:
        lines += [f"  <button bindtap=\"{bound}\">{pascal(bound)}</button>"]
    lines += [
        "  <view class=\"loading\" wx:if=\"{{loading}}\">Loading...</view>",
        "</view>",
        "",
    ]
    return "\n".join(lines)


def page_wxss(g):
    c = g.r.choice(COLORS)
    return "\n".join([
        ".container { padding: 24rpx; }",
        ".item { display: flex; padding: 20rpx 0; border-bottom: 1rpx solid #eee; }",
        ".cover { width: 160rpx; height: 160rpx; border-radius: 8rpx; }",
        ".info { flex: 1; margin-left: 20rpx; }",
        f".title {{ font-size: 30rpx; color: {c}; }}",
        ".empty { text-align: center; color: #999; padding: 80rpx; }",
        "",
    ])


# --------------------------------------------------------------------------------------------
# Mini-program utils
# --------------------------------------------------------------------------------------------

def config_js(g, name, target_lines, flaw):
    r = g.r
    host = g.host()
    scheme = "http" if flaw == "http_url" else "https"
    lines = [
        f"// utils/{name}.js: environment configuration",
        f"const ENV = '{r.choice(['prod', 'release'])}'",
        "",
        "const HOSTS = {",
        f"  prod: '{scheme}://{host}',",
        f"  release: '{scheme}://{host}',",
        "}",
        "",
        "const BASE_URL = HOSTS[ENV] + '/v" + str(r.randrange(1, 4)) + "'",
        f"const UPLOAD_URL = 'https://upload.{host}/file'",
        f"const CDN_URL = 'https://cdn.{host}'",
        f"const TIMEOUT = {r.choice([8000, 10000, 15000])}",
        "",
    ]
    used = set()
    consts = []
    while len(lines) + len(consts) + 24 < target_lines:
        e = g.ent()
        cname = g.uniq(f"{e.upper()}_STATUS", used)
        consts.append(cname)
        lines.append(f"const {cname} = {{")
        for i, f in enumerate(g.fields(r.randrange(3, 8))):
            lines.append(f"  {f.upper()}: {i},")
        lines.append("}")
        lines.append("")
        tname = g.uniq(f"{e.upper()}_STATUS_TEXT", used)
        consts.append(tname)
        lines.append(f"const {tname} = {{")
        for i, f in enumerate(g.fields(r.randrange(3, 8))):
            lines.append(f"  {i}: '{pascal(f)}',")
        lines.append("}")
        lines.append("")
    lines += [
        "module.exports = {",
        "  ENV,",
        "  BASE_URL,",
        "  UPLOAD_URL,",
        "  CDN_URL,",
        "  TIMEOUT,",
    ] + [f"  {c}," for c in consts] + ["}", ""]
    return "\n".join(lines)


def request_js(g, name, cfg, target_lines):
    r = g.r
    lines = [
        f"// utils/{name}.js: wx.request wrapper with auth header and retry",
        f"const config = require('./{cfg}.js')",
        "",
        "let pending = 0",
        "",
        "function buildHeader(extra) {",
        "  const app = getApp()",
        "  const header = Object.assign({ 'content-type': 'application/json' }, extra || {})",
        "  if (app && app.globalData.sessionId) {",
        "    header['X-Session'] = app.globalData.sessionId",
        "  }",
        "  return header",
        "}",
        "",
        "function request(method, path, data, options = {}) {",
        "  pending += 1",
        "  if (!options.silent && pending === 1) wx.showNavigationBarLoading()",
        "  return new Promise((resolve, reject) => {",
        "    wx.request({",
        "      url: config.BASE_URL + path,",
        "      method,",
        "      data,",
        "      timeout: config.TIMEOUT,",
        "      header: buildHeader(options.header),",
        "      success(res) {",
        "        if (res.statusCode === 401) {",
        "          getApp().globalData.sessionId = ''",
        "          wx.navigateTo({ url: '/pages/login/login' })",
        "          reject(new Error('unauthorized'))",
        "          return",
        "        }",
        "        if (res.statusCode >= 200 && res.statusCode < 300) {",
        "          resolve(res.data && res.data.data !== undefined ? res.data.data : res.data)",
        "        } else {",
        "          reject(new Error(`HTTP ${res.statusCode}`))",
        "        }",
        "      },",
        "      fail: reject,",
        "      complete() {",
        "        pending -= 1",
        "        if (pending === 0) wx.hideNavigationBarLoading()",
        "      },",
        "    })",
        "  })",
        "}",
        "",
        "const get = (path, data, options) => request('GET', path, data, options)",
        "const post = (path, data, options) => request('POST', path, data, options)",
        "const put = (path, data, options) => request('PUT', path, data, options)",
        "const del = (path, data, options) => request('DELETE', path, data, options)",
        "",
    ]
    used = set()
    exports = ["request", "get", "post", "put", "del"]
    while len(lines) + 4 < target_lines:
        e = g.ent()
        k = r.randrange(3)
        if k == 0:
            fn = g.uniq(camel("fetch", e, "Page"), used)
            lines += [
                f"async function {fn}(page = 1, size = 20, filters = {{}}) {{",
                f"  const res = await get('/api/{e}/page', Object.assign({{ page, size }}, filters))",
                "  return {",
                "    list: res.list || [],",
                "    total: res.total || 0,",
                "    hasMore: page * size < (res.total || 0),",
                "  }",
                "}",
                "",
            ]
        elif k == 1:
            fn = g.uniq(camel("withRetry", e), used)
            lines += [
                f"async function {fn}(path, data, times = {r.randrange(2, 5)}) {{",
                "  let lastErr",
                "  for (let i = 0; i < times; i++) {",
                "    try {",
                "      return await post(path, data, { silent: i > 0 })",
                "    } catch (err) {",
                "      lastErr = err",
                "      await new Promise((r) => setTimeout(r, 300 * (i + 1)))",
                "    }",
                "  }",
                "  throw lastErr",
                "}",
                "",
            ]
        else:
            fn = g.uniq(camel("download", e), used)
            lines += [
                f"function {fn}(fileId) {{",
                "  return new Promise((resolve, reject) => {",
                "    wx.downloadFile({",
                f"      url: `${{config.CDN_URL}}/{e}/${{fileId}}`,",
                "      success: (res) => resolve(res.tempFilePath),",
                "      fail: reject,",
                "    })",
                "  })",
                "}",
                "",
            ]
        exports.append(fn)
    lines += ["module.exports = { " + ", ".join(exports) + " }", ""]
    return "\n".join(lines)


def format_js(g, name, target_lines):
    r = g.r
    lines = [
        f"// utils/{name}.js: formatting helpers",
        "const pad = (n) => String(n).padStart(2, '0')",
        "",
        "function formatTime(value) {",
        "  if (!value) return ''",
        "  const d = new Date(value)",
        "  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`",
        "}",
        "",
        "function formatPrice(cents) {",
        "  const n = Number(cents || 0) / 100",
        "  return n.toFixed(2)",
        "}",
        "",
    ]
    used = set()
    exports = ["formatTime", "formatPrice"]
    while len(lines) + 4 < target_lines:
        f = g.field()
        k = r.randrange(3)
        if k == 0:
            fn = g.uniq(camel("mask", f), used)
            lines += [
                f"function {fn}(value) {{",
                "  const s = String(value || '')",
                "  if (s.length <= 4) return s",
                "  return s.slice(0, 3) + '*'.repeat(Math.max(0, s.length - 7)) + s.slice(-4)",
                "}",
                "",
            ]
        elif k == 1:
            fn = g.uniq(camel("group", "By", f), used)
            lines += [
                f"function {fn}(list) {{",
                "  const groups = {}",
                "  for (const item of list || []) {",
                f"    const key = item.{f} || 'other'",
                "    if (!groups[key]) groups[key] = []",
                "    groups[key].push(item)",
                "  }",
                "  return Object.keys(groups).sort().map((key) => ({ key, items: groups[key] }))",
                "}",
                "",
            ]
        else:
            fn = g.uniq(camel("debounce", f), used)
            lines += [
                f"function {fn}(fn, wait = {r.choice([200, 300, 500])}) {{",
                "  let timer = null",
                "  return function (...args) {",
                "    clearTimeout(timer)",
                "    timer = setTimeout(() => fn.apply(this, args), wait)",
                "  }",
                "}",
                "",
            ]
        exports.append(fn)
    lines += ["module.exports = { " + ", ".join(exports) + " }", ""]
    return "\n".join(lines)


def auth_js(g, name, req, target_lines, flaw):
    lines = [
        f"// utils/{name}.js: login and session helpers",
        f"const {{ post }} = require('./{req}.js')",
        "",
        "async function login() {",
        "  const { code } = await wx.login()",
        "  const res = await post('/api/auth/login', { code })",
    ]
    if flaw == "token_storage":
        lines += ["  wx.setStorageSync('access_token', res.accessToken)"]
    lines += [
        "  const app = getApp()",
        "  app.globalData.sessionId = res.sessionId",
        "  app.globalData.user = res.user",
        "  return res.user",
        "}",
        "",
        "function isLoggedIn() {",
        "  return Boolean(getApp().globalData.sessionId)",
        "}",
        "",
        "async function ensureLogin() {",
        "  if (isLoggedIn()) return getApp().globalData.user",
        "  return login()",
        "}",
        "",
    ]
    used = set()
    exports = ["login", "isLoggedIn", "ensureLogin"]
    while len(lines) + 4 < target_lines:
        e = g.ent()
        fn = g.uniq(camel("require", e, "Permission"), used)
        lines += [
            f"async function {fn}() {{",
            "  const user = await ensureLogin()",
            f"  if (!user || !(user.permissions || []).includes('{e}')) {{",
            f"    wx.showModal({{ title: 'No access', content: 'You cannot view {e}', showCancel: false }})",
            "    return false",
            "  }",
            "  return true",
            "}",
            "",
        ]
        exports.append(fn)
    lines += ["module.exports = { " + ", ".join(exports) + " }", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Cloud functions
# --------------------------------------------------------------------------------------------

def cloud_action(g, used, uses_mysql):
    r = g.r
    coll = r.choice(TABLES)
    f1, f2 = g.fields(2)
    k = r.randrange(6 if uses_mysql else 5)
    if k == 0:
        name = g.uniq(camel("list", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            "  const page = Math.max(1, parseInt(event.page, 10) || 1)",
            "  const size = Math.min(50, parseInt(event.size, 10) || 20)",
            f"  const res = await db.collection('{coll}')",
            f"    .where({{ _openid: wxContext.OPENID, {f1}: _.neq('deleted') }})",
            "    .orderBy('createdAt', 'desc')",
            "    .skip((page - 1) * size)",
            "    .limit(size)",
            "    .get()",
            "  return { code: 0, data: res.data }",
            "}",
        ]
    if k == 1:
        name = g.uniq(camel("create", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            f"  const {f1} = String(event.{f1} || '').slice(0, 64)",
            f"  if (!{f1}) return {{ code: 400, message: '{f1} required' }}",
            f"  const res = await db.collection('{coll}').add({{",
            "    data: {",
            "      _openid: wxContext.OPENID,",
            f"      {f1},",
            f"      {f2}: Number(event.{f2}) || 0,",
            "      createdAt: db.serverDate(),",
            "    },",
            "  })",
            "  return { code: 0, id: res._id }",
            "}",
        ]
    if k == 2:
        name = g.uniq(camel("update", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            f"  const doc = await db.collection('{coll}').doc(String(event.id)).get()",
            "  if (!doc.data || doc.data._openid !== wxContext.OPENID) {",
            "    return { code: 403, message: 'forbidden' }",
            "  }",
            f"  await db.collection('{coll}').doc(String(event.id)).update({{",
            f"    data: {{ {f1}: String(event.{f1} || ''), updatedAt: db.serverDate() }},",
            "  })",
            "  return { code: 0 }",
            "}",
        ]
    if k == 3:
        name = g.uniq(camel("stat", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            f"  const res = await db.collection('{coll}')",
            "    .aggregate()",
            "    .match({ _openid: wxContext.OPENID })",
            f"    .group({{ _id: '${f1}', total: $.sum('${f2}'), count: $.sum(1) }})",
            "    .end()",
            "  return { code: 0, data: res.list }",
            "}",
        ]
    if k == 4:
        name = g.uniq(camel("notify", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            "  try {",
            "    await cloud.openapi.subscribeMessage.send({",
            "      touser: wxContext.OPENID,",
            f"      templateId: '{g.hexs(8)}-{g.hexs(12)}',",
            f"      page: 'pages/{coll}/{coll}',",
            f"      data: {{ thing1: {{ value: String(event.{f1} || '').slice(0, 20) }} }},",
            "    })",
            "    return { code: 0 }",
            "  } catch (err) {",
            "    console.error(err)",
            "    return { code: 500, message: err.message }",
            "  }",
            "}",
        ]
    name = g.uniq(camel("query", pascal(coll)), used)
    return name, [
        f"async function {name}(event, wxContext) {{",
        "  const conn = await getConnection()",
        "  const [rows] = await conn.execute(",
        f"    'SELECT id, {f1}, {f2} FROM {coll} WHERE openid = ? AND {f1} = ? LIMIT 50',",
        f"    [wxContext.OPENID, String(event.{f1} || '')],",
        "  )",
        "  return { code: 0, data: rows }",
        "}",
    ]


def cloud_flaw(g, kind, used):
    coll = g.r.choice(TABLES)
    f1 = g.field()
    if kind == "sql_event":
        name = g.uniq(camel("search", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            "  const conn = await getConnection()",
            "  const [rows] = await conn.query(",
            f"    `SELECT * FROM {coll} WHERE {f1} LIKE '%${{event.keyword}}%' ORDER BY ${{event.sort || 'id'}}`,",
            "  )",
            "  return { code: 0, data: rows }",
            "}",
        ]
    if kind == "openid_event":
        name = g.uniq(camel("my", pascal(coll)), used)
        return name, [
            f"async function {name}(event, wxContext) {{",
            "  // openid taken from the caller instead of cloud.getWXContext()",
            f"  const res = await db.collection('{coll}').where({{ _openid: event.openid }}).get()",
            "  return { code: 0, data: res.data }",
            "}",
        ]
    if kind == "reject_unauth":
        name = g.uniq(camel("fetch", "Remote", pascal(coll)), used)
        return name, [
            f"function {name}(event, wxContext) {{",
            "  return new Promise((resolve, reject) => {",
            "    const req = https.request({",
            f"      hostname: '{g.host()}',",
            f"      path: '/partner/{coll}',",
            "      method: 'GET',",
            "      rejectUnauthorized: false,",
            "    }, (res) => {",
            "      let body = ''",
            "      res.on('data', (c) => { body += c })",
            "      res.on('end', () => resolve({ code: 0, data: JSON.parse(body) }))",
            "    })",
            "    req.on('error', reject)",
            "    req.end()",
            "  })",
            "}",
        ]
    raise ValueError(kind)


def cloud_index_js(g, fn, target_lines, flaw):
    r = g.r
    uses_mysql = flaw == "sql_event" or r.random() < 0.25
    used = set()
    head = [
        f"// cloudfunctions/{fn}/index.js",
        "const cloud = require('wx-server-sdk')",
    ]
    if uses_mysql:
        head.append("const mysql = require('mysql2/promise')")
    if flaw == "reject_unauth":
        head.append("const https = require('https')")
    head += [
        "",
        "cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV })",
        "const db = cloud.database()",
        "const _ = db.command",
        "const $ = db.command.aggregate",
        "",
    ]
    if flaw == "appsecret":
        head += [
            f"const APPID = 'wx{g.hexs(16)}'",
            f"const APP_SECRET = '{g.hexs(32)}'",
            "",
        ]
    if uses_mysql:
        head += [
            "let pool = null",
            "async function getConnection() {",
            "  if (!pool) {",
            "    pool = mysql.createPool({",
            "      host: process.env.MYSQL_HOST,",
            "      user: process.env.MYSQL_USER,",
            "      password: process.env.MYSQL_PASSWORD,",
            f"      database: '{fn}',",
            "      connectionLimit: 5,",
            "    })",
            "  }",
            "  return pool",
            "}",
            "",
        ]
    actions = []
    body = []
    if flaw in ("sql_event", "openid_event", "reject_unauth"):
        name, block = cloud_flaw(g, flaw, used)
        actions.append(name)
        body += block + [""]
    while len(head) + len(body) + len(actions) * 2 + 14 < target_lines or not actions:
        name, block = cloud_action(g, used, uses_mysql)
        actions.append(name)
        body += block + [""]
    main = [
        "exports.main = async (event, context) => {",
        "  const wxContext = cloud.getWXContext()",
        "  switch (event.action) {",
    ]
    for a in actions:
        main += [f"    case '{a}':", f"      return {a}(event, wxContext)"]
    main += [
        "    default:",
        "      return { code: 404, message: `unknown action ${event.action}` }",
        "  }",
        "}",
        "",
    ]
    if flaw == "appsecret":
        main += [
            "async function code2Session(code) {",
            "  const url = `https://api.weixin.qq.com/sns/jscode2session?appid=${APPID}&secret=${APP_SECRET}&js_code=${code}&grant_type=authorization_code`",
            "  return cloud.callFunction({ name: 'http', data: { url } })",
            "}",
            "",
        ]
    return "\n".join(head + body + main)


def cloud_package_json(fn):
    return json.dumps({
        "name": fn,
        "version": "1.0.0",
        "main": "index.js",
        "dependencies": {"wx-server-sdk": "~2.6.3", "mysql2": "^3.6.0"},
    }, indent=2) + "\n"


# --------------------------------------------------------------------------------------------
# Express backend
# --------------------------------------------------------------------------------------------

def route_handler(g, used):
    r = g.r
    coll = r.choice(TABLES)
    f1, f2 = g.fields(2)
    k = r.randrange(7)
    if k == 0:
        return [
            f"router.get('/{coll}', auth, async (req, res, next) => {{",
            "  try {",
            "    const page = Math.max(1, parseInt(req.query.page, 10) || 1)",
            "    const size = Math.min(100, parseInt(req.query.size, 10) || 20)",
            "    const [rows] = await pool.query(",
            f"      'SELECT id, {f1}, {f2} FROM {coll} WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?',",
            "      [req.user.id, size, (page - 1) * size],",
            "    )",
            "    res.json({ code: 0, data: rows })",
            "  } catch (err) {",
            "    next(err)",
            "  }",
            "})",
        ]
    if k == 1:
        return [
            f"router.get('/{coll}/:id', auth, async (req, res, next) => {{",
            "  try {",
            f"    const [rows] = await pool.query('SELECT * FROM {coll} WHERE id = ? AND user_id = ?', [",
            "      req.params.id,",
            "      req.user.id,",
            "    ])",
            "    if (!rows.length) return res.status(404).json({ code: 404, message: 'not found' })",
            "    res.json({ code: 0, data: rows[0] })",
            "  } catch (err) {",
            "    next(err)",
            "  }",
            "})",
        ]
    if k == 2:
        return [
            f"router.post('/{coll}', auth, validate(['{f1}', '{f2}']), async (req, res, next) => {{",
            "  try {",
            f"    const {{ {f1}, {f2} }} = req.body",
            "    const [result] = await pool.query(",
            f"      'INSERT INTO {coll} (user_id, {f1}, {f2}, created_at) VALUES (?, ?, ?, NOW())',",
            f"      [req.user.id, {f1}, {f2}],",
            "    )",
            "    res.status(201).json({ code: 0, id: result.insertId })",
            "  } catch (err) {",
            "    next(err)",
            "  }",
            "})",
        ]
    if k == 3:
        return [
            f"router.get('/{coll}/export', auth, async (req, res) => {{",
            "  const tmp = path.join(os.tmpdir(), `export-${Date.now()}.csv`)",
            f"  const [rows] = await pool.query('SELECT * FROM {coll} WHERE user_id = ?', [req.user.id])",
            "  fs.writeFileSync(tmp, rows.map((r) => Object.values(r).join(',')).join('\\n'))",
            "  execFile('gzip', ['-9', tmp], (err) => {",
            "    if (err) return res.status(500).json({ code: 500 })",
            f"    res.download(tmp + '.gz', '{coll}.csv.gz')",
            "  })",
            "})",
        ]
    if k == 4 and "logout" not in used:
        used.add("logout")
        return [
            "router.get('/logout', (req, res) => {",
            "  req.session = null",
            "  res.redirect('/login')",
            "})",
        ]
    if k == 4:
        return [
            f"router.delete('/{coll}/:id', auth, async (req, res, next) => {{",
            "  try {",
            f"    await pool.query('UPDATE {coll} SET deleted = 1 WHERE id = ? AND user_id = ?', [req.params.id, req.user.id])",
            "    res.json({ code: 0 })",
            "  } catch (err) {",
            "    next(err)",
            "  }",
            "})",
        ]
    if k == 5:
        return [
            f"router.get('/{coll}/summary', auth, async (req, res, next) => {{",
            "  try {",
            "    const from = new Date(req.query.from || Date.now() - 7 * 864e5)",
            "    const to = new Date(req.query.to || Date.now())",
            "    const [rows] = await pool.query(",
            f"      'SELECT DATE(created_at) AS day, COUNT(*) AS n, SUM({f2}) AS total FROM {coll} WHERE created_at BETWEEN ? AND ? GROUP BY day',",
            "      [from, to],",
            "    )",
            "    res.json({ code: 0, data: rows })",
            "  } catch (err) {",
            "    next(err)",
            "  }",
            "})",
        ]
    return [
        f"router.put('/{coll}/:id/{f1}', auth, async (req, res, next) => {{",
        "  try {",
        f"    const value = String(req.body.{f1} || '').slice(0, 255)",
        f"    await pool.query('UPDATE {coll} SET {f1} = ? WHERE id = ? AND user_id = ?', [value, req.params.id, req.user.id])",
        "    res.json({ code: 0 })",
        "  } catch (err) {",
        "    next(err)",
        "  }",
        "})",
    ]


def route_flaw(g, kind):
    coll = g.r.choice(TABLES)
    if kind == "exec_query":
        return [
            f"router.get('/{coll}/thumbnail', auth, (req, res) => {{",
            "  const file = req.query.file",
            "  exec(`convert uploads/${file} -resize 200x200 thumbs/${file}`, (err) => {",
            "    if (err) return res.status(500).json({ code: 500 })",
            "    res.json({ code: 0 })",
            "  })",
            "})",
        ]
    if kind == "eval_body":
        return [
            f"router.post('/{coll}/rule', auth, (req, res) => {{",
            "  // evaluate a pricing rule sent by the admin console",
            "  const result = eval(req.body.code)",
            "  res.json({ code: 0, result })",
            "})",
        ]
    if kind == "redirect_query":
        return [
            "router.get('/sso/callback', (req, res) => {",
            "  req.session.user = req.query.user",
            "  res.redirect(req.query.next)",
            "})",
        ]
    raise ValueError(kind)


def route_js(g, name, target_lines, flaw):
    used = set()
    head = [
        f"// server/routes/{name}.js",
        "const express = require('express')",
        "const fs = require('fs')",
        "const os = require('os')",
        "const path = require('path')",
        "const { exec, execFile } = require('child_process')",
        "const pool = require('../db')",
        "const { auth, validate } = require('../middleware')",
        "",
        "const router = express.Router()",
        "",
    ]
    body = []
    if flaw:
        body += route_flaw(g, flaw) + [""]
    tail = ["module.exports = router", ""]
    while len(head) + len(body) + len(tail) < target_lines:
        body += route_handler(g, used) + [""]
    return "\n".join(head + body + tail)


def service_js(g, name, target_lines, flaw):
    r = g.r
    head = [
        f"// server/services/{name}.js",
        "const https = require('https')",
        "const crypto = require('crypto')",
        "const axios = require('axios')",
        "",
    ]
    if flaw == "appsecret":
        head += [
            "const wechat = {",
            f"  appId: 'wx{g.hexs(16)}',",
            f"  appSecret: '{g.hexs(32)}',",
            "}",
        ]
    else:
        head += [
            "const wechat = {",
            "  appId: process.env.WX_APPID,",
            "  appSecret: process.env.WX_APPSECRET,",
            "}",
        ]
    head += [
        "",
        "const client = axios.create({",
        f"  baseURL: 'https://{g.host()}',",
        f"  timeout: {r.choice([3000, 5000, 8000])},",
    ]
    if flaw == "reject_unauth":
        head += ["  httpsAgent: new https.Agent({ rejectUnauthorized: false }),"]
    else:
        head += ["  httpsAgent: new https.Agent({ keepAlive: true }),"]
    head += [
        "})",
        "",
        "async function code2Session(code) {",
        "  const { data } = await axios.get('https://api.weixin.qq.com/sns/jscode2session', {",
        "    params: { appid: wechat.appId, secret: wechat.appSecret, js_code: code, grant_type: 'authorization_code' },",
        "  })",
        "  if (data.errcode) throw new Error(data.errmsg)",
        "  return { openid: data.openid, unionid: data.unionid }",
        "}",
        "",
        "function sign(params, key) {",
        "  const str = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&')",
        "  return crypto.createHmac('sha256', key).update(str).digest('hex').toUpperCase()",
        "}",
        "",
    ]
    used = set()
    exports = ["code2Session", "sign"]
    body = []
    while len(head) + len(body) + 2 < target_lines:
        e = g.ent()
        f1 = g.field()
        k = r.randrange(3)
        if k == 0:
            fn = g.uniq(camel("sync", e), used)
            body += [
                f"async function {fn}(ids) {{",
                "  const out = []",
                "  for (const chunk of chunkify(ids, 50)) {",
                f"    const {{ data }} = await client.post('/{e}/batch', {{ ids: chunk }})",
                "    out.push(...(data.items || []))",
                "  }",
                "  return out",
                "}",
                "",
            ]
            if "chunkify" not in used:
                used.add("chunkify")
                body += [
                    "function chunkify(list, size) {",
                    "  const out = []",
                    "  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))",
                    "  return out",
                    "}",
                    "",
                ]
        elif k == 1:
            fn = g.uniq(camel("normalize", e), used)
            body += [
                f"function {fn}(raw) {{",
                "  return {",
                "    id: String(raw.id),",
                f"    {f1}: raw.{f1} == null ? null : String(raw.{f1}).trim(),",
                "    createdAt: raw.created_at ? new Date(raw.created_at).toISOString() : null,",
                "    tags: Array.isArray(raw.tags) ? raw.tags : String(raw.tags || '').split(','),",
                "  }",
                "}",
                "",
            ]
        else:
            fn = g.uniq(camel("verify", e, "Signature"), used)
            body += [
                f"function {fn}(payload, signature) {{",
                "  const expected = sign(payload, process.env.PAY_KEY)",
                "  const a = Buffer.from(expected)",
                "  const b = Buffer.from(String(signature || ''))",
                "  return a.length === b.length && crypto.timingSafeEqual(a, b)",
                "}",
                "",
            ]
        exports.append(fn)
    tail = ["module.exports = { " + ", ".join(exports) + " }", ""]
    return "\n".join(head + body + tail)


SERVER_APP = """// server/app.js
const express = require('express')
const helmet = require('helmet')
const morgan = require('morgan')

const app = express()
app.use(helmet())
app.use(express.json({ limit: '1mb' }))
app.use(morgan('combined'))

{mounts}

app.use((err, req, res, next) => {
  console.error(err)
  res.status(500).json({ code: 500, message: 'internal error' })
})

app.listen(process.env.PORT || 3000)
"""

SERVER_DB = """// server/db.js
const mysql = require('mysql2/promise')

const pool = mysql.createPool({
  host: process.env.DB_HOST,
  user: process.env.DB_USER,
  password: process.env.DB_PASSWORD,
  database: process.env.DB_NAME || 'shop',
  connectionLimit: 10,
})

module.exports = pool
"""

SERVER_MIDDLEWARE = """// server/middleware.js
const jwt = require('jsonwebtoken')

function auth(req, res, next) {
  const header = req.headers.authorization || ''
  const token = header.startsWith('Bearer ') ? header.slice(7) : ''
  try {
    req.user = jwt.verify(token, process.env.JWT_SECRET, { algorithms: ['HS256'] })
    next()
  } catch (err) {
    res.status(401).json({ code: 401, message: 'unauthorized' })
  }
}

function validate(fields) {
  return (req, res, next) => {
    for (const f of fields) {
      if (req.body[f] === undefined || req.body[f] === '') {
        return res.status(400).json({ code: 400, message: `${f} required` })
      }
    }
    next()
  }
}

module.exports = { auth, validate }
"""

MP_APP_JS = """// app.js
App({
  globalData: {
    user: null,
    sessionId: '',
    needRefresh: false,
  },
  onLaunch() {
    const info = wx.getSystemInfoSync()
    this.globalData.statusBarHeight = info.statusBarHeight
    const updater = wx.getUpdateManager()
    updater.onUpdateReady(() => {
      wx.showModal({
        title: 'Update',
        content: 'A new version is ready. Restart now?',
        success: (res) => res.confirm && updater.applyUpdate(),
      })
    })
  },
})
"""


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

FLAW_KINDS = [
    "http_url", "sql_event", "exec_query", "token_storage", "reject_unauth", "appsecret",
    "eval_body", "redirect_query", "openid_event",
]
# Which kinds of file may carry which flaw.
FLAW_ROLES = {
    "http_url": ["page", "config"],
    "token_storage": ["page", "auth"],
    "sql_event": ["cloud"],
    "openid_event": ["cloud"],
    "reject_unauth": ["cloud", "service"],
    "appsecret": ["cloud", "service"],
    "exec_query": ["route"],
    "eval_body": ["route"],
    "redirect_query": ["route"],
}


def target_lines(rng):
    # Skewed towards 80-200 lines, clipped to 50-400.
    n = int(rng.lognormvariate(4.9, 0.45))
    return max(56, min(385, n))


def generate(out, n_files, seed, flaw_rate):
    rng = random.Random(seed)
    g = Gen(rng)

    fixed_js = 5  # miniprogram/app.js, server/app.js, db.js, middleware.js, index of routes
    rest = max(20, n_files - fixed_js)
    n_pages = int(rest * 0.45)
    n_utils = max(8, int(rest * 0.08))
    n_cloud = int(rest * 0.22)
    n_services = max(2, int(rest * 0.06))
    n_routes = rest - n_pages - n_utils - n_cloud - n_services

    # Plan the files: (role, name)
    plan = []
    page_names = []
    for i in range(n_pages):
        e = ENTITIES[i % len(ENTITIES)]
        suffix = ["list", "detail", "edit", "index"][(i // len(ENTITIES)) % 4]
        name = f"{e}-{suffix}-{i}"
        page_names.append(name)
        plan.append(("page", name))
    utils = {"config": [], "request": [], "format": [], "auth": []}
    kinds = ["config", "request", "format", "auth"]
    for i in range(n_utils):
        k = kinds[i % 4]
        name = f"{k}_{i // 4}" if i >= 4 else k
        utils[k].append(name)
        plan.append((k, name))
    for i in range(n_cloud):
        plan.append(("cloud", f"{ENTITIES[i % len(ENTITIES)]}{pascal(VERBS[i % len(VERBS)])}{i}"))
    for i in range(n_services):
        plan.append(("service", f"{ENTITIES[i % len(ENTITIES)]}Service{i}"))
    for i in range(n_routes):
        plan.append(("route", f"{ENTITIES[i % len(ENTITIES)]}_{i}"))

    # Choose the flawed files: round-robin over the kinds, each in a file of a fitting role.
    n_flaws = int(round(n_files * flaw_rate))
    by_role = {}
    for idx, (role, _) in enumerate(plan):
        by_role.setdefault(role, []).append(idx)
    for lst in by_role.values():
        rng.shuffle(lst)
    flaws = {}
    for i in range(n_flaws):
        kind = FLAW_KINDS[i % len(FLAW_KINDS)]
        roles = FLAW_ROLES[kind]
        role = roles[(i // len(FLAW_KINDS)) % len(roles)]
        pool = by_role.get(role, [])
        while pool and pool[-1] in flaws:
            pool.pop()
        if not pool:
            for role in roles:
                pool = by_role.get(role, [])
                while pool and pool[-1] in flaws:
                    pool.pop()
                if pool:
                    break
        if not pool:
            continue
        flaws[pool.pop()] = kind

    if os.path.isdir(out):
        shutil.rmtree(out)
    files = {}

    def put(rel, text):
        files[rel] = text

    mp = "miniprogram"
    for idx, (role, name) in enumerate(plan):
        flaw = flaws.get(idx)
        tl = target_lines(rng)
        if role == "page":
            other = lambda: rng.choice(page_names)  # noqa: E731
            put(f"{mp}/pages/{name}/{name}.js", page_js(g, name, utils, other, tl, flaw))
            put(f"{mp}/pages/{name}/{name}.wxml", page_wxml(g, name))
            put(f"{mp}/pages/{name}/{name}.wxss", page_wxss(g))
            put(f"{mp}/pages/{name}/{name}.json", json.dumps({
                "navigationBarTitleText": pascal(name.split("-")[0]),
                "enablePullDownRefresh": True,
                "usingComponents": {},
            }, indent=2) + "\n")
        elif role == "config":
            put(f"{mp}/utils/{name}.js", config_js(g, name, tl, flaw))
        elif role == "request":
            cfg = utils["config"][utils["request"].index(name) % len(utils["config"])]
            put(f"{mp}/utils/{name}.js", request_js(g, name, cfg, tl))
        elif role == "format":
            put(f"{mp}/utils/{name}.js", format_js(g, name, tl))
        elif role == "auth":
            req = utils["request"][utils["auth"].index(name) % len(utils["request"])]
            put(f"{mp}/utils/{name}.js", auth_js(g, name, req, tl, flaw))
        elif role == "cloud":
            put(f"cloudfunctions/{name}/index.js", cloud_index_js(g, name, tl, flaw))
            put(f"cloudfunctions/{name}/package.json", cloud_package_json(name))
        elif role == "service":
            put(f"server/services/{name}.js", service_js(g, name, tl, flaw))
        elif role == "route":
            put(f"server/routes/{name}.js", route_js(g, name, tl, flaw))

    routes = [name for role, name in plan if role == "route"]
    put("server/routes/index.js", "// server/routes/index.js\nmodule.exports = {\n" + "".join(
        f"  '{r}': require('./{r}'),\n" for r in routes) + "}\n")
    put("server/app.js", SERVER_APP.replace("{mounts}", "const routes = require('./routes')\n"
        "for (const [name, router] of Object.entries(routes)) app.use(`/api/${name}`, router)"))
    put("server/db.js", SERVER_DB)
    put("server/middleware.js", SERVER_MIDDLEWARE)
    put("server/package.json", json.dumps({
        "name": "miniapp-server", "version": "1.0.0", "main": "app.js", "private": True,
        "dependencies": {"express": "^4.18.2", "mysql2": "^3.6.0", "axios": "^1.6.0",
                         "jsonwebtoken": "^9.0.2", "helmet": "^7.1.0", "morgan": "^1.10.0"},
    }, indent=2) + "\n")
    put(f"{mp}/app.js", MP_APP_JS)
    put(f"{mp}/app.json", json.dumps({
        "pages": [f"pages/{n}/{n}" for n in page_names],
        "window": {"navigationBarTitleText": "Demo Shop", "navigationBarBackgroundColor": "#ffffff",
                   "navigationBarTextStyle": "black", "backgroundTextStyle": "dark"},
        "style": "v2",
        "sitemapLocation": "sitemap.json",
    }, indent=2) + "\n")
    put(f"{mp}/app.wxss", "page { background: #f7f7f7; font-size: 28rpx; }\n")
    put(f"{mp}/sitemap.json", json.dumps({"rules": [{"action": "allow", "page": "*"}]}, indent=2) + "\n")
    put("project.config.json", json.dumps({
        "miniprogramRoot": "miniprogram/",
        "cloudfunctionRoot": "cloudfunctions/",
        "appid": "wx" + "0" * 16,
        "projectname": "bench-corpus",
        "compileType": "miniprogram",
        "libVersion": "3.3.4",
        "setting": {"urlCheck": True, "es6": True, "minified": True, "postcss": True},
    }, indent=2) + "\n")

    stats = {"files": 0, "js_files": 0, "lines": 0, "js_lines": 0, "bytes": 0, "js_bytes": 0}
    for rel in sorted(files):
        text = files[rel]
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode("utf-8")
        with open(path, "wb") as fh:
            fh.write(data)
        lines = text.count("\n")
        stats["files"] += 1
        stats["lines"] += lines
        stats["bytes"] += len(data)
        if rel.endswith(".js"):
            stats["js_files"] += 1
            stats["js_lines"] += lines
            stats["js_bytes"] += len(data)

    path_of = {}
    for idx, (role, name) in enumerate(plan):
        path_of[idx] = {
            "page": f"{mp}/pages/{name}/{name}.js",
            "config": f"{mp}/utils/{name}.js",
            "request": f"{mp}/utils/{name}.js",
            "format": f"{mp}/utils/{name}.js",
            "auth": f"{mp}/utils/{name}.js",
            "cloud": f"cloudfunctions/{name}/index.js",
            "service": f"server/services/{name}.js",
            "route": f"server/routes/{name}.js",
        }[role]
    planted = sorted(({"path": path_of[i], "kind": k} for i, k in flaws.items()),
                     key=lambda d: (d["path"], d["kind"]))
    by_kind = {}
    for p in planted:
        by_kind[p["kind"]] = by_kind.get(p["kind"], 0) + 1
    manifest = {
        "generator": "bench/gen_corpus.py",
        "seed": seed,
        "requested_js_files": n_files,
        "flaw_rate": flaw_rate,
        **stats,
        "planted_by_kind": dict(sorted(by_kind.items())),
        "planted": planted,
    }
    with open(os.path.join(out, "MANIFEST.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    return manifest


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=DEFAULT_FILES,
                    help=f"number of JavaScript files (default {DEFAULT_FILES})")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"RNG seed (default {DEFAULT_SEED})")
    ap.add_argument("--flaw-rate", type=float, default=DEFAULT_FLAW_RATE,
                    help="share of JS files with a planted flaw (default 0.05)")
    ap.add_argument("--out", default=os.path.join(here, "corpus"), help="output folder (replaced)")
    args = ap.parse_args(argv)
    if args.files < 25:
        ap.error("--files must be at least 25")
    m = generate(args.out, args.files, args.seed, args.flaw_rate)
    print(f"corpus: {args.out}: {m['files']} files ({m['js_files']} JS), {m['lines']} lines "
          f"({m['js_lines']} JS), {m['bytes']} bytes ({m['js_bytes']} JS), "
          f"{len(m['planted'])} planted flaws", file=sys.stderr)


if __name__ == "__main__":
    main()
