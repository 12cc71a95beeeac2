"""Plans: accepted offers, frozen with their schedule and the policy version they came from."""
