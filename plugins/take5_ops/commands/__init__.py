"""One module per ``take5`` command, each with ``register(subparsers)``."""
