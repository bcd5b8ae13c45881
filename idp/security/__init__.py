"""Security mechanisms: pure functions, one module each."""
