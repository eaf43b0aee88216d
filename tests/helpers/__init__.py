"""Builders and helpers shared by the test tiers (unit, integration, dags, stack); no test module imports another."""
