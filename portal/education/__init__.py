"""Plain-language help topics for cardholders, readable without signing in."""

from portal.education.content import suggested_topic

__all__ = ["suggested_topic"]
