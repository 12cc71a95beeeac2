"""Offers: an offer policy, an account and its plan history → the domain's offers.

``adapter`` turns one stored account into the pure engine's input and asks it; ``impact``
counts the same offers across the whole portfolio in one SQL query. Plans and policies
both meet here, so neither needs to import the other.
"""
