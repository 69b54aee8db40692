"""Transactional outbox, relay to the queue, and once-only handlers (inbox)."""
