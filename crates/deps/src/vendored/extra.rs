//! miniguard's own signatures, for libraries that mini-programs copy often and retire.js does
//! not recognise (or not in the form mini-programs ship them).
//!
//! Kept apart from the converted retire.js data so regenerating that file never loses them.

/// Content patterns added to a library's `filecontent` list: (npm name, pattern; group 1 is the
/// version).
pub(super) const CONTENT: &[(&str, &str)] = &[
    // lodash 4's minified build states no version in its banner; retire.js's own lodash
    // pattern needs `__lodash_hash_undefined__` within 300 bytes of the version, which the
    // minified build does not have. The assignment sits before lodash's placeholder setup.
    (
        "lodash",
        r#"\.VERSION="([0-9][0-9.a-z_\\-]+)",[A-Za-z_$][\w$]{0,3}\("bind bindKey curry curryRight partial partialRight"\.split"#,
    ),
];

/// SHA-1 of files of crypto-js releases (content with line ends turned into LF) to version.
///
/// crypto-js states its version nowhere in its files, and it has a critical advisory
/// (GHSA-xwcq-pm8m-c4vf, PBKDF2 defaults, fixed in 4.2.0): a hash is the only way to tell the
/// release of a copy. Printed by `scripts/fetch-vendored-fixtures.sh --crypto-js-hashes` from
/// the npm tarballs. Releases that ship a byte-identical file get the highest of them (the
/// comment lists all): identical code has the same flaws whatever its label, and the highest
/// label avoids reporting advisories fixed in between.
pub(super) const HASHES: &[(&str, &str, &str)] = &[
    (
        "crypto-js",
        "3b6da8b6e86990cda855d70132ace6fcaeb3b0a7",
        "3.1.2",
    ), // aes.js 3.1.2
    (
        "crypto-js",
        "7ac548b24396851c9e431d0e396eaedd0f551e10",
        "3.1.2",
    ), // pbkdf2.js 3.1.2
    (
        "crypto-js",
        "7d8ade1772f8ad01f9e287cd3bb74e920c13d2d1",
        "3.1.2",
    ), // core.js 3.1.2
    (
        "crypto-js",
        "f9400e326b79b0878191201fc2489622c9030611",
        "3.1.8",
    ), // crypto-js.js 3.1.8
    (
        "crypto-js",
        "05511ad9b011ad37b13f72dbb5bd356fd86b6302",
        "3.2.0",
    ), // crypto-js.js 3.2.0
    (
        "crypto-js",
        "5248f4afa38cd7bce1e1cc919a4e2628c53b2ba8",
        "3.2.0",
    ), // core.js 3.2.0
    (
        "crypto-js",
        "3dd73b6f13dc818a3a9c5c7424c1c4a9649b00a2",
        "3.3.0",
    ), // crypto-js.js 3.1.9-1 3.3.0
    (
        "crypto-js",
        "556e1fe15241fae6398f21ed20ce3e0329361258",
        "3.3.0",
    ), // aes.js 3.1.8 3.1.9-1 3.3.0
    (
        "crypto-js",
        "a5069c6c029a404071b27f636c39173618abdfc5",
        "3.3.0",
    ), // core.js 3.1.8 3.1.9-1 3.3.0
    (
        "crypto-js",
        "00ea9620f99ed5d1e0492cf1764e4df4bff7d7a1",
        "4.0.0",
    ), // crypto-js.js 3.2.1 4.0.0
    (
        "crypto-js",
        "26a12d39b9fa8f9ba0c310ff564be4536483ab9a",
        "4.0.0",
    ), // core.js 3.2.1 4.0.0
    (
        "crypto-js",
        "6f2bb245feaa0997fa30b085af0e8990d21395cc",
        "4.1.1",
    ), // crypto-js.js 4.1.1
    (
        "crypto-js",
        "d9383ee2dc36eb56abadba701c3168d2556a7d8d",
        "4.1.1",
    ), // pbkdf2.js 3.1.8 .. 4.1.1
    (
        "crypto-js",
        "006198366f41423a82b05dc582d9882530c3f6e5",
        "4.2.0",
    ), // pbkdf2.js 4.2.0
    (
        "crypto-js",
        "06951bbea3ba1ca54de91f0feefc13fb62b66f38",
        "4.2.0",
    ), // core.js 4.1.1 4.2.0
    (
        "crypto-js",
        "4e84b6508f97c27e80a3fdeea2923d489d2b8fc5",
        "4.2.0",
    ), // crypto-js.js 4.2.0
    (
        "crypto-js",
        "5441866409bd32d32331c4b4b652057fb90bc298",
        "4.2.0",
    ), // aes.js 3.2.0 .. 4.2.0
];

/// Characteristic strings: (npm name, pattern). They name the library but not its version;
/// used only when no banner or hash of any library matched the file, and reported with an
/// empty version (the advisory matcher treats it as unknown).
///
/// They match a library's *definition*, never its use: `CryptoJS.AES.encrypt(...)` in app code
/// is not crypto-js.
pub(super) const CHARACTERISTIC: &[(&str, &str)] = &[
    // crypto-js's core (`core.js`, and the top of the `crypto-js.js` bundle), plain or minified:
    // `var CryptoJS = CryptoJS || (function (Math, undefined) {`.
    (
        "crypto-js",
        r"var CryptoJS\s*=\s*CryptoJS\s*\|\|\s*\(?\s*function\s*\(\s*[A-Za-z_$][\w$]*\s*,\s*[A-Za-z_$][\w$]*\s*\)",
    ),
    // A crypto-js module's UMD wrapper (`aes.js`, `md5.js`, ...): built from `./core`, or from
    // the global `root.CryptoJS`, handed to a factory taking `CryptoJS`.
    (
        "crypto-js",
        r#"(?s)factory\(require\("\./core"\).{0,600}factory\(root\.CryptoJS\);\s*\}\s*\}\(this,\s*function\s*\(CryptoJS\)"#,
    ),
];
