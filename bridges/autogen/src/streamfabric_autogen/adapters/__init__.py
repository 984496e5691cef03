"""Framework adapters: each maps one framework's run stream to fabric events (core/adapter.py)."""
