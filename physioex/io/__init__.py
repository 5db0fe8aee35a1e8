"""File-system primitives every stage shares: atomic writes, output locks, content hashes."""
