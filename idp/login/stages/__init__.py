"""One module per sign-in stage."""
