"""Messaging core: conversations, messages, inbound log, outbox, event bus (later issues)."""
