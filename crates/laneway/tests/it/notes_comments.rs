//! `/notes` and comments on records and tasks (spec §7).
