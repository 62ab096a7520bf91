//! npm semver: versions, ranges and `satisfies`, with npm's prerelease rules.
