"""Email: composing messages and delivering the outbox."""
