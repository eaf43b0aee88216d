"""Level 1A deliveries: the contract in ../shared/specs/l1a-delivery.md."""
