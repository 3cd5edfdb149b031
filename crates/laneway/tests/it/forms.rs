//! `/forms` and public submissions (spec §7).
