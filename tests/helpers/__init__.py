"""Builders and helpers shared by the test tiers (unit, integration, dags); no test module imports another."""
