"""Channel adapters, one package per channel (later issues)."""
