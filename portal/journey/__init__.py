"""The cardholder's journey from "I can't pay" to a signed plan they can keep."""
