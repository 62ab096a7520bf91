//! One example project per platform besides WeChat (examples/platforms/*: Alipay, Douyin, Baidu,
//! QQ, uni-app and Taro): every flaw planted in it (its EXPECTED.md) is found, and the safe
//! look-alike beside each flaw is not.

use std::path::PathBuf;

#[path = "support/expected.rs"]
mod support;

fn platform(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/platforms")
        .join(name)
}

#[test]
fn alipay() {
    support::assert_exact(&platform("alipay"));
}

#[test]
fn douyin() {
    support::assert_exact(&platform("douyin"));
}

#[test]
fn baidu() {
    support::assert_exact(&platform("baidu"));
}

#[test]
fn qq() {
    support::assert_exact(&platform("qq"));
}

#[test]
fn uniapp() {
    support::assert_exact(&platform("uniapp"));
}

#[test]
fn taro() {
    support::assert_exact(&platform("taro"));
}

/// Each example is its platform: the scan says so in its summary.
#[test]
fn every_example_is_detected_as_its_platform() {
    for (name, platform_name) in [
        ("alipay", "alipay"),
        ("douyin", "douyin"),
        ("baidu", "baidu"),
        ("qq", "qq"),
        ("uniapp", "uni-app"),
        ("taro", "taro"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_miniguard"))
            .env("LC_ALL", "C")
            .args(["scan", "--no-progress", "--fail-on", "never"])
            .arg(platform(name))
            .output()
            .expect("run miniguard");
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(text.contains(platform_name), "{name}: {text}");
    }
}
