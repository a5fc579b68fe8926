"""Channel-agnostic dialog flows for clients, executors, drivers and the owner (later issues)."""
