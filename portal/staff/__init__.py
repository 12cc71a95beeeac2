"""Staff accounts, roles, sign-in with password and TOTP, and access control for staff pages."""
