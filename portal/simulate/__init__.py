"""A synthetic book played through the portal's services (``portal simulate``)."""
