"""Stage outputs."""
