//! Simplified Chinese: every rule has its translation, and `--lang` / `LANG` choose the language
//! of what people read while JSON stays English.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    c.env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .env(
            "MINIGUARD_CACHE_DIR",
            std::env::temp_dir().join("miniguard-test-no-cache"),
        );
    c
}

fn codes() -> Vec<String> {
    let out = bin().args(["rules", "--json"]).output().unwrap();
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

fn translations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../report/i18n/zh-CN")
}

/// No rule lacks its Chinese page, and each page has the shape the program reads: a summary
/// line, a blank line, the sections.
#[test]
fn every_rule_has_a_chinese_translation() {
    let mut missing = Vec::new();
    for code in codes() {
        let path = translations().join(format!("{code}.md"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(code);
            continue;
        };
        let mut lines = text.lines();
        let summary = lines.next().unwrap_or("");
        assert!(
            !summary.trim().is_empty() && !summary.starts_with('#'),
            "{code}: the first line is the summary"
        );
        assert_eq!(
            lines.next(),
            Some(""),
            "{code}: a blank line after the summary"
        );
        for section in ["## 发现什么", "## 为什么重要", "## 修复"] {
            assert!(text.contains(section), "{code}: no `{section}`");
        }
        assert!(
            summary
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{code}: the summary is not in Chinese"
        );
    }
    assert!(
        missing.is_empty(),
        "rules without a zh-CN translation: {missing:?}"
    );
    // And no translation of a rule that does not exist.
    let known = codes();
    for entry in std::fs::read_dir(translations()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // Rule pages only: `messages.toml` beside them holds the messages.
        let Some(code) = name.strip_suffix(".md") else {
            continue;
        };
        assert!(known.iter().any(|c| c == code), "{name}: no such rule");
    }
}

#[test]
fn lang_and_locale_choose_the_language_of_what_people_read() {
    // `rules CODE` in Chinese by flag, and by locale.
    let out = bin()
        .args(["rules", "S001", "--lang", "zh-CN"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("## 发现什么") && text.contains("默认级别"),
        "{text}"
    );
    let out = bin()
        .args(["rules", "S001"])
        .env("LANG", "zh_CN.UTF-8")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("## 发现什么"));
    // The flag wins over the locale.
    let out = bin()
        .args(["rules", "S001", "--lang", "en"])
        .env("LANG", "zh_CN.UTF-8")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("## What it finds"));
    let out = bin().args(["rules", "--lang", "fr"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A scan: the text summary and the HTML page in Chinese, JSON in English.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.js"),
        "wx.request({ url: 'http://api.example.com/a' })\n",
    )
    .unwrap();
    let scan = |extra: &[&str]| {
        bin()
            .args([
                "scan",
                "--no-progress",
                "--fail-on",
                "never",
                "--lang",
                "zh-CN",
            ])
            .args(extra)
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let text = String::from_utf8_lossy(&scan(&[]).stdout).into_owned();
    assert!(
        text.contains("概览") && text.contains("发现 1 个问题"),
        "{text}"
    );
    // The finding itself: severity and the rule's summary in Chinese, then the finding's own
    // message (it names the code's identifiers), then the advice.
    let summary = zh_summary("T001");
    assert!(
        text.contains(&format!("[T001] insecure-http-endpoint：{summary}")),
        "{text}"
    );
    assert!(
        text.contains("详情：") && text.contains("= 建议："),
        "{text}"
    );
    // The message and the advice themselves in Chinese, the code they quote as it is.
    assert!(
        text.contains("详情：`http://api.example.com/a` 通过明文 http 发送"),
        "{text}"
    );
    assert!(
        text.contains("使用 https://，并通过 TLS 提供该接口"),
        "{text}"
    );
    assert!(!text.contains("is sent over plain"), "{text}");
    let html_path = dir.path().join("r.html");
    scan(&["--format", "html", "--output", html_path.to_str().unwrap()]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("最低级别"));
    assert!(html.contains("## 发现什么") || html.contains("<h4>发现什么</h4>"));
    assert!(html.contains("<p class=\"detail\">"), "{html}");
    assert!(
        html.contains(
            "<p class=\"detail\"><code>http://api.example.com/a</code> 通过明文 http 发送"
        ),
        "{html}"
    );
    let json = String::from_utf8_lossy(&scan(&["--format", "json"]).stdout).into_owned();
    assert!(!json.contains("发现什么") && json.contains("What it finds"));
    // JSON keeps the English message, byte for byte what an English run writes.
    assert!(
        json.contains(
            "\"message\": \"`http://api.example.com/a` is sent over plain http: the request \
             traffic can be read and changed in transit\""
        ),
        "{json}"
    );
    assert!(!json.contains("明文"), "{json}");
}

/// What the binary itself says (its errors, clap's usage errors) follows the language too, with
/// clap's exit code; English stays clap's own words.
#[test]
fn errors_and_usage_errors_are_said_in_the_chosen_language() {
    let out = bin()
        .args(["--lang", "zh-CN", "scan", "--bogus", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("错误：无法识别的参数 '--bogus'"), "{err}");
    assert!(
        err.contains("用法：") && err.contains("更多信息请尝试 '--help'"),
        "{err}"
    );

    let out = bin()
        .args(["scan", "--fail-on", "severe", "--lang", "zh-CN", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'severe'") && err.contains("无效"), "{err}");
    assert!(err.contains("可选值："), "{err}");
    // A Chinese locale chooses the same, without --lang.
    let by_locale = bin()
        .env("LANG", "zh_CN.UTF-8")
        .args(["scan", "--fail-on", "severe", "."])
        .output()
        .unwrap();
    assert_eq!(by_locale.stderr, out.stderr);

    let out = bin().args(["scan", "--bogus", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");

    let missing = std::env::temp_dir().join("miniguard-no-such-folder-zh");
    let out = bin()
        .args(["scan", "--lang", "zh-CN"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("错误：") && err.trim_end().ends_with("不存在"),
        "{err}"
    );

    // A folder with nothing to scan, and a lockfile warning of `deps`.
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["scan", "--lang", "zh-CN"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("没有可扫描的内容"), "{err}");
    std::fs::write(dir.path().join("package-lock.json"), "{ not json").unwrap();
    let out = bin()
        .args(["deps", "--lang", "zh-CN"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("警告：package-lock.json") && text.contains("无法解析锁文件"),
        "{text}"
    );
    // The embedded advisory data is named in Chinese too.
    assert!(text.contains("数据库：内置快照（"), "{text}");

    // A scan's miniguard.toml that cannot be used: the kind in Chinese, the parser's own words
    // after it, joined by a full-width colon.
    std::fs::write(dir.path().join("a.js"), "App({})\n").unwrap();
    let config = dir.path().join("miniguard.toml");
    let scan_err = |toml: &str| {
        std::fs::write(&config, toml).unwrap();
        let out = bin()
            .args(["scan", "--no-progress", "--lang", "zh-CN"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = scan_err("[scan]\nfail-on = \"severe\"\n");
    assert_eq!(
        err.trim_end(),
        "错误：配置中的 fail-on 无效：未知的严重程度 `severe`（可选：info, low, medium, high, critical）"
    );
    let err = scan_err("[scan\n");
    assert!(
        err.contains("miniguard.toml 无效：TOML parse error"),
        "{err}"
    );
    let err = scan_err("[scan]\nmax-file-size = \"12Q\"\n");
    assert_eq!(
        err.trim_end(),
        "错误：无效的大小 `12Q`（应写成 512K、2M、1048576 这样）"
    );
}

/// `--help` follows the locale and `--lang` too: headings, command and argument texts and the
/// examples, while the flags themselves stay the same and still parse.
#[test]
fn help_is_chinese_under_a_chinese_locale_or_lang() {
    let out = bin()
        .args(["scan", "--help", "--lang", "zh-CN"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for want in [
        "用法：",
        "选项：",
        "要审计的项目目录",
        "--fail-on",
        "示例：",
    ] {
        assert!(help.contains(want), "no `{want}` in:\n{help}");
    }
    assert!(!help.contains("Options:"), "{help}");
    // A Chinese locale chooses the same, without --lang.
    let by_locale = bin()
        .env("LANG", "zh_CN.UTF-8")
        .args(["scan", "--help"])
        .output()
        .unwrap();
    assert_eq!(by_locale.stdout, out.stdout);

    let out = bin().args(["--lang", "zh-CN", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("命令："), "{help}");
    assert!(help.contains("审计项目"), "{help}");

    // `--lang en` wins over a Chinese locale, as it does for the reports.
    let out = bin()
        .env("LANG", "zh_CN.UTF-8")
        .args(["deps", "--help", "--lang=en"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage:"), "{help}");
    assert!(!help.contains("用法"), "{help}");
}

/// The first line of a rule's Chinese page: its summary.
fn zh_summary(code: &str) -> String {
    let text = std::fs::read_to_string(translations().join(format!("{code}.md"))).unwrap();
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// Runs the binary with `--lang zh-CN` and `stdin` as standard input: (exit code, stdout,
/// stderr).
fn zh(args: &[&std::ffi::OsStr], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    let mut child = bin()
        .args(args)
        .args(["--lang", "zh-CN"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

macro_rules! os {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*] };
}

/// `init`, `keys`, `accounts`, `roles` and `audit-log` say their results and errors in Chinese
/// (issue 14: they printed English under `--lang zh-CN`).
#[test]
fn init_keys_accounts_roles_and_audit_log_speak_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.json"), r#"{"pages":["pages/index/index"]}"#).unwrap();
    std::fs::write(root.join("app.js"), "App({})\n").unwrap();
    std::fs::write(
        root.join("project.config.json"),
        r#"{"appid":"wx0123456789abcdef","compileType":"miniprogram"}"#,
    )
    .unwrap();

    let (code, out, err) = zh(os!["init", root], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("为微信小程序（1 个小程序根目录") && out.contains("下一步："),
        "{out}"
    );
    assert!(out.contains("# 列出问题及代码片段"), "{out}");
    assert!(
        !out.contains("Next steps") && !out.contains("wrote"),
        "{out}"
    );
    // The file itself stays English, one file for the whole team.
    let config = std::fs::read_to_string(root.join("miniguard.toml")).unwrap();
    assert!(config.contains("for a WeChat mini-program"), "{config}");
    let (code, _, err) = zh(os!["init", root], "");
    assert_eq!(code, Some(2));
    assert!(err.starts_with("错误：") && err.contains("已存在"), "{err}");

    let key = root.join("data-keys");
    let (code, _, err) = zh(os!["keys", "generate", "--out", &key], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("已把数据加密密钥 1 写入") && err.contains("请保留备份"),
        "{err}"
    );
    let (code, _, err) = zh(os!["keys", "generate", "--out", &key], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("拒绝覆盖密钥"), "{err}");

    let db = root.join("data/miniguard.db");
    let create = |password: &str| {
        zh(
            os![
                "accounts",
                "create",
                "--db",
                &db,
                "--username",
                "ops.chief",
                "--role",
                "admin"
            ],
            &format!("{password}\n"),
        )
    };
    let (code, _, err) = create("short");
    assert_eq!(code, Some(2));
    assert_eq!(err.trim_end(), "错误：密码至少需要 12 个字符。");
    let (code, out, err) = create("correct horse battery staple 42");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("已创建 admin 账号 ops.chief（用户 id 1）"),
        "{out}"
    );
    let (_, _, err) = create("correct horse battery staple 42");
    assert!(err.contains("已有同名账号"), "{err}");

    let (code, out, err) = zh(
        os!["roles", "grant", "--db", &db, "--user", "1", "staff"],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim_end(), "已把 staff 授予用户 1");
    let (_, out, _) = zh(os!["roles", "list", "--db", &db], "");
    assert!(out.contains("用户 1") && out.contains("授予于"), "{out}");
    let (code, _, err) = zh(
        os!["roles", "grant", "--db", &db, "--user", "9", "staff"],
        "",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("没有 id 为 9 的用户"), "{err}");
    let (_, _, err) = zh(os!["roles", "list", "--db", &root.join("no.db")], "");
    assert!(err.contains("处没有数据库"), "{err}");

    let (code, out, _) = zh(os!["audit-log", "verify", "--db", &db], "");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("审计日志完好") && out.contains("警告"),
        "{out}"
    );
}

/// The argument errors of `rules` and `probe` are said in Chinese too.
#[test]
fn rules_and_probe_argument_errors_speak_chinese() {
    let (code, _, err) = zh(os!["rules", "nosuch"], "");
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("错误：没有名为 `nosuch` 的规则或类别"),
        "{err}"
    );
    let (code, _, err) = zh(os!["probe", "https://127.0.0.1:1"], "");
    assert_eq!(code, Some(2));
    assert!(err.starts_with("错误：需要 --scope FILE"), "{err}");
}

/// `serve` says its start-up errors in Chinese where their kind is known: the configuration
/// cannot be read or parsed, the port is taken, `--dev` on a public address.
#[test]
fn serve_start_errors_speak_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let (code, _, err) = zh(os!["serve", "--config", &missing], "");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("无法读取配置") && err.contains("文件或目录不存在"),
        "{err}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server\n").unwrap();
    let (_, _, err) = zh(os!["serve", "--config", &bad], "");
    // The TOML parser's own words follow (they quote the line).
    assert!(err.contains("不是有效的配置：TOML parse error"), "{err}");

    let (code, _, err) = zh(os!["serve", "--dev", "--listen", "0.0.0.0:0"], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("--dev 只监听回环地址"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, _, err) = zh(
        os![
            "serve",
            "--dev",
            "--listen",
            &address,
            "--data-dir",
            dir.path()
        ],
        "",
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains(&format!("无法监听 {address}：该地址已被占用")),
        "{err}"
    );
}

/// `serve --dev` says what it started in Chinese, the values (address, commands) as they are.
#[cfg(unix)]
#[test]
fn serve_dev_summary_speaks_chinese() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "serve",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--lang",
            "zh-CN",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| l != "按 Ctrl-C 停止。")
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(
        text.starts_with("miniguard serve --dev：开发模式"),
        "{text}"
    );
    assert!(
        text.contains("  监听              https://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("  模拟微信接口      http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("登录一个测试用户"), "{text}");
    assert!(text.contains(r#"-d '{"code":"dev:alice"}'"#), "{text}");
    assert!(
        !text.contains("listening") && !text.contains("Log in"),
        "{text}"
    );
}
