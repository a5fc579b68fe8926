"""Composition root: settings, bootstrap, CLI and process roles."""
