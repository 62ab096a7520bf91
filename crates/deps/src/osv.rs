//! OSV records (<https://ossf.github.io/osv-schema/>) and whether one affects a version.
