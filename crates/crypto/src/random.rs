//! Randomness from the operating system, and nothing else.
//!
//! Every secret this crate creates (keys, nonces, tokens, salts, TOTP secrets, recovery codes) comes
//! from [`getrandom`], which asks the kernel (`getrandom(2)` on Linux). There is deliberately no
//! user-space generator to seed, fork or forget to reseed. The OS call can fail only in exotic
//! situations (no entropy source in a sandbox); we report that as [`RandomError`] instead of
//! panicking, so a server can answer 503 rather than abort.

/// The operating system could not provide random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError;

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|_| RandomError)
}

/// `N` random bytes from the OS CSPRNG.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}
