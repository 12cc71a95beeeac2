"""Signed written agreements: the PDF of an accepted plan, signed by the bank, and its public check."""
