//! The state several instances share through Redis (src/shared.rs), tested against a real Redis
//! server: the one at `MINIGUARD_TEST_REDIS_URL` (`.ci/run` sets it and starts Redis when it is
//! not running). Without that variable each test says so and passes without checking anything,
//! so the suite works on a machine with SQLite alone.
//!
//! Two `Shared` connections stand for two instances of `serve`; every test uses a deployment
//! name of its own, so parallel tests and earlier runs never see each other's keys.

use std::time::Duration;

use miniguard_server::db::UserId;
use miniguard_server::session_cache::Invalidation;
use miniguard_server::shared::{Admission, Heard, Shared, SharedError};

fn redis_url() -> Option<String> {
    let url = std::env::var("MINIGUARD_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!("MINIGUARD_TEST_REDIS_URL is not set: skipping the Redis test");
    }
    url
}

async fn two_instances(url: &str) -> (Shared, Shared) {
    let (a, b, _) = two_instances_named(url).await;
    (a, b)
}

async fn two_instances_named(url: &str) -> (Shared, Shared, String) {
    let deployment = format!("test-{}", uuid::Uuid::new_v4().simple());
    let a = Shared::connect(url, &deployment).await.expect("connect a");
    let b = Shared::connect(url, &deployment).await.expect("connect b");
    (a, b, deployment)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_nonce_accepted_by_one_instance_is_refused_by_another() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    let ttl = Duration::from_secs(301);
    let signed_at = now();
    assert!(a.nonce_is_new(0xfeed, signed_at, ttl).await.unwrap());
    assert!(
        !b.nonce_is_new(0xfeed, signed_at, ttl).await.unwrap(),
        "replayed on b"
    );
    assert!(
        !a.nonce_is_new(0xfeed, signed_at, ttl).await.unwrap(),
        "replayed on a"
    );
    assert!(b.nonce_is_new(0xbeef, signed_at, ttl).await.unwrap());

    // Concurrent arrivals of one nonce at both instances: exactly one wins.
    let mut wins = 0;
    for fp in 0..50u64 {
        let (x, y) = tokio::join!(
            a.nonce_is_new(fp << 20, signed_at, ttl),
            b.nonce_is_new(fp << 20, signed_at, ttl)
        );
        wins += usize::from(x.unwrap()) + usize::from(y.unwrap());
    }
    assert_eq!(wins, 50);
}

#[tokio::test]
async fn a_redis_that_lost_its_data_refuses_what_it_may_have_accepted_before() {
    let Some(url) = redis_url() else { return };
    let (a, b, deployment) = two_instances_named(&url).await;
    let ttl = Duration::from_secs(301);
    // Connecting made the horizon and waited past it: a request signed now is taken.
    let signed_at = now();
    assert!(a.nonce_is_new(0x1, signed_at, ttl).await.unwrap());
    // A timestamp from before the deployment's horizon is refused, however new its nonce.
    assert!(!b.nonce_is_new(0x2, signed_at - 5, ttl).await.unwrap());

    // Redis loses everything of this deployment (a restart without persistence).
    forget_everything(&url, &deployment).await;

    // The nonce it accepted is forgotten, yet its replay is refused on either instance: the
    // horizon is made again at the current time.
    assert!(
        !b.nonce_is_new(0x1, signed_at, ttl).await.unwrap(),
        "replay after the loss"
    );
    assert!(
        !a.nonce_is_new(0x1, signed_at, ttl).await.unwrap(),
        "replay after the loss"
    );
    // Requests signed after the loss are taken.
    let later = now() + 2;
    assert!(a.nonce_is_new(0x3, later, ttl).await.unwrap());
    assert!(!b.nonce_is_new(0x3, later, ttl).await.unwrap());
}

#[tokio::test]
async fn a_rate_limit_counts_requests_wherever_they_land() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    // Three at once, then one a minute: the fourth request is refused on either instance.
    for (i, s) in [&a, &b, &a].into_iter().enumerate() {
        assert_eq!(
            s.rate("addr:192.0.2.1", 1, 3).await.unwrap(),
            Ok(()),
            "request {i}"
        );
    }
    let wait = b
        .rate("addr:192.0.2.1", 1, 3)
        .await
        .unwrap()
        .expect_err("the fourth request is over the shared burst");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_mins(1),
        "{wait:?}"
    );
    // Another key has its own bucket.
    assert_eq!(a.rate("addr:192.0.2.2", 1, 3).await.unwrap(), Ok(()));
}

#[tokio::test]
async fn a_high_rate_is_not_capped_by_the_clocks_unit() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    // A million a second, ten at once: 300 requests one after the other take far longer than
    // 300 us, so every one is within the rate. Counted in milliseconds, the bucket refilled at
    // one request per millisecond at best, and most of these were refused.
    let mut refused = 0;
    for i in 0..300 {
        let s = if i % 2 == 0 { &a } else { &b };
        if s.rate("addr:198.51.100.7", 60_000_000, 10)
            .await
            .unwrap()
            .is_err()
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 0, "a high limit refused requests it allows");
    // And a low one still holds: one a minute, two at once.
    assert_eq!(a.rate("addr:198.51.100.8", 1, 2).await.unwrap(), Ok(()));
    assert_eq!(b.rate("addr:198.51.100.8", 1, 2).await.unwrap(), Ok(()));
    let wait = a
        .rate("addr:198.51.100.8", 1, 2)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_mins(1),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_signed_requests_limit_and_nonce_are_taken_in_one_step() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    let ttl = Duration::from_secs(301);
    let at = now();
    let key = "addr:general:203.0.113.1";
    // Two at once, then one a minute, for both instances together.
    assert_eq!(
        a.admit(key, 1, 2, 0x10, at, ttl).await.unwrap(),
        Admission::New
    );
    // The same nonce at the other instance is a replay, and counts against the limit.
    assert_eq!(
        b.admit(key, 1, 2, 0x10, at, ttl).await.unwrap(),
        Admission::Seen
    );
    // Over the limit: refused before the nonce is looked at, so it is not recorded.
    let Admission::Limited(wait) = a.admit(key, 1, 2, 0x11, at, ttl).await.unwrap() else {
        panic!("the third request is over the shared burst");
    };
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_mins(1),
        "{wait:?}"
    );
    assert!(
        b.nonce_is_new(0x11, at, ttl).await.unwrap(),
        "a refused request's nonce was recorded"
    );
    // The bucket is the one requests without a nonce are counted in.
    assert!(a.rate(key, 1, 2).await.unwrap().is_err());

    // Concurrent arrivals of one signed request at both instances: exactly one is taken.
    let mut taken = 0;
    for fp in 0..50u64 {
        let (x, y) = tokio::join!(
            a.admit(
                "addr:general:203.0.113.2",
                60_000_000,
                1000,
                fp << 24,
                at,
                ttl
            ),
            b.admit(
                "addr:general:203.0.113.2",
                60_000_000,
                1000,
                fp << 24,
                at,
                ttl
            )
        );
        for answer in [x.unwrap(), y.unwrap()] {
            assert!(!matches!(answer, Admission::Limited(_)), "{answer:?}");
            taken += usize::from(answer == Admission::New);
        }
    }
    assert_eq!(taken, 50);
}

#[tokio::test]
async fn admitting_a_request_keeps_the_horizon_after_redis_lost_its_data() {
    let Some(url) = redis_url() else { return };
    let (a, b, deployment) = two_instances_named(&url).await;
    let ttl = Duration::from_secs(301);
    let key = "addr:general:198.51.100.20";
    let signed_at = now();
    assert_eq!(
        a.admit(key, 60_000, 1000, 0x1, signed_at, ttl)
            .await
            .unwrap(),
        Admission::New
    );
    // Behind the deployment's horizon: refused however new the nonce.
    assert_eq!(
        b.admit(key, 60_000, 1000, 0x2, signed_at - 5, ttl)
            .await
            .unwrap(),
        Admission::Seen
    );
    forget_everything(&url, &deployment).await;
    // The accepted nonce is forgotten, its replay refused on either instance all the same.
    for s in [&b, &a] {
        assert_eq!(
            s.admit(key, 60_000, 1000, 0x1, signed_at, ttl)
                .await
                .unwrap(),
            Admission::Seen,
            "replay after the loss"
        );
    }
    let later = now() + 2;
    assert_eq!(
        a.admit(key, 60_000, 1000, 0x3, later, ttl).await.unwrap(),
        Admission::New
    );
    assert_eq!(
        b.admit(key, 60_000, 1000, 0x3, later, ttl).await.unwrap(),
        Admission::Seen
    );
}

/// Deletes every key of the deployment, as a Redis restarted without persistence has.
async fn forget_everything(url: &str, deployment: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("mg:{{{deployment}}}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.len() >= 2, "{keys:?}");
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_invalidation_published_by_one_instance_reaches_the_others() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    let mut heard_by_b = b.subscribe().await.unwrap();
    let mut heard_by_a = a.subscribe().await.unwrap();
    let sent = [
        Invalidation::Family("family-1".into()),
        Invalidation::User(UserId(9)),
        Invalidation::UserExcept {
            user: UserId(9),
            keep_family: "family-2".into(),
        },
        Invalidation::All,
    ];
    for inv in &sent {
        a.publish(inv).await.unwrap();
    }
    for inv in sent {
        for sub in [&mut heard_by_b, &mut heard_by_a] {
            let heard = tokio::time::timeout(Duration::from_secs(1), sub.next())
                .await
                .expect("heard within a second");
            assert_eq!(heard, Heard::Invalidate(inv.clone()));
        }
    }
}

#[tokio::test]
async fn a_url_that_is_not_redis_is_a_clear_error() {
    let err = Shared::connect("postgres://user:secret@127.0.0.1/x", "t")
        .await
        .expect_err("not redis");
    assert!(matches!(err, SharedError::BadUrl(_)), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    // Nothing listens on port 9: a connection error, not a hang or a panic.
    let err = Shared::connect("redis://127.0.0.1:9/0", "t")
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, SharedError::Redis(_)), "{err}");
}
