"""Plan links: staff send one, the cardholder opens it, signs in, and sees their options."""
