"""The optional accounts server (docs/distribution.md, "Accounts"): sign up with the data licence,
sign in, API tokens, orders of a cart as a Metalink of presigned URLs, download statistics.

- :mod:`~.settings`: the mode and the server's settings (environment);
- :mod:`~.credentials`: password hashes (argon2) and API tokens;
- :mod:`~.db`: the accounts database (PostgreSQL, schema ``accounts``);
- :mod:`~.validation`: every web input checked, errors naming the field;
- :mod:`~.orders`: a cart to a Metalink of presigned URLs, and its lines per site and level;
- :mod:`~.stats`: download statistics (the dashboard's document in the work bucket);
- :mod:`~.limits`: the rate limits (attempts per address, failed sign-ins per e-mail);
- :mod:`~.pages`, :mod:`~.web`: the HTML pages and the Starlette app; :mod:`~.server` runs it.

Importing this package imports nothing heavy: the dashboard reads :mod:`~.stats` alone.
"""
