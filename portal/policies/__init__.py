"""Offer policies: the bank's versioned limits per tier, stored as audited rows."""
