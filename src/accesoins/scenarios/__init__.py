"""Stage scenarios."""
