"""The case file: one timeline per account of everything that happened about the debt."""
