"""Putting a policy to work: orders for a decision day, positions, the difference-in-differences reading of a deployment and the simulated pilot."""
