"""Sessions: everything needed to come back to where the user was (no Qt here)."""
