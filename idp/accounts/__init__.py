"""People's accounts: creation, lookup and lifecycle."""
