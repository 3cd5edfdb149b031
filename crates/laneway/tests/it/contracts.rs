//! `/contracts` and the public signing link (spec §7).
