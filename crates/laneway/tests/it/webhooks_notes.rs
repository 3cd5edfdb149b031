//! Webhooks and the note and comment events: delivery, scope and filters.
