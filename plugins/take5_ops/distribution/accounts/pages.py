"""The accounts server's HTML pages (Jinja2, autoescaped): sign up, sign in, the licence, the
account's state (licence, tokens, orders), a new token shown once."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, select_autoescape

BASE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }} · Take5 accounts</title><link rel="icon" href="data:,">
<style>
body{font-family:system-ui,sans-serif;max-width:760px;margin:24px auto;padding:0 12px;color:#1d2433}
h1{font-size:22px}h2{font-size:17px;margin-top:24px}label{display:block;margin:10px 0 4px}
input[type=email],input[type=password],input[type=text],input[type=number]{width:100%;max-width:360px;padding:6px}
button{padding:6px 14px;margin-top:10px}.error{background:#fdecea;border:1px solid #e6b0aa;padding:8px 12px;border-radius:6px}
.ok{background:#e8f6ee;border:1px solid #9fd3b4;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;font-size:14px}th,td{border-bottom:1px solid #e3e6ec;padding:4px 8px;text-align:left}
code{background:#f2f4f7;padding:1px 4px;word-break:break-all}.muted{color:#667}
pre.licence{white-space:pre-wrap;border:1px solid #d5dae3;padding:8px;max-height:260px;overflow:auto;font-size:13px}
nav a{margin-right:12px}
</style></head><body>
<nav><a href="{{ base }}/">Account</a>{% if not account %}<a href="{{ base }}/signin">Sign in</a><a href="{{ base }}/signup">Sign up</a>{% endif %}<a href="{{ base }}/licence">Data licence</a></nav>
<h1>{{ title }}</h1>
{% if error %}<p class="error" role="alert" data-field="{{ error_field or '' }}">{{ error }}</p>{% endif %}
{% block body %}{% endblock %}
</body></html>
"""

SIGNUP = """{% extends "base" %}{% block body %}
<p>An account lets you order products: the order is a Metalink (<code>.meta4</code>) for a download
manager, its links valid for {{ expiry_days }} days. Searching and browsing need no account.</p>
<form method="post" action="{{ base }}/signup">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="licence_version" value="{{ licence.version }}">
<label for="email">E-mail</label><input id="email" name="email" type="email" required value="{{ email or '' }}" autocomplete="username">
<label for="password">Password ({{ password_min }} characters or more)</label>
<input id="password" name="password" type="password" required minlength="{{ password_min }}" autocomplete="new-password">
<h2>Data licence, version {{ licence.version }}</h2>
<pre class="licence">{{ licence.text }}</pre>
<label><input id="accept_licence" name="accept_licence" type="checkbox"> I accept the data licence (version {{ licence.version }})</label>
<button type="submit">Sign up</button>
</form>{% endblock %}"""

SIGNIN = """{% extends "base" %}{% block body %}
<form method="post" action="{{ base }}/signin">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="email">E-mail</label><input id="email" name="email" type="email" required value="{{ email or '' }}" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
<p class="muted">No account yet? <a href="{{ base }}/signup">Sign up</a>.</p>{% endblock %}"""

LICENCE = """{% extends "base" %}{% block body %}
<pre class="licence" style="max-height:none">{{ licence.text }}</pre>{% endblock %}"""

ACCOUNT = """{% extends "base" %}{% block body %}
{% if new_token %}<div class="ok" data-testid="new-token"><p>Your new API token <b>{{ new_token_name }}</b>, shown
this once (keep it; only its hash is stored):</p><p><code id="token">{{ new_token }}</code></p></div>{% endif %}
<table data-testid="state">
<tr><th>e-mail</th><td data-testid="email">{{ account.email }}</td></tr>
<tr><th>account</th><td data-testid="account-state">{{ "disabled" if account.disabled_at else "active" }}, since {{ account.created_at.strftime("%Y-%m-%d") }}</td></tr>
<tr><th>data licence</th><td data-testid="licence-state">{% if licence_ok %}accepted: version {{ account.licence_version }}, {{ account.licence_accepted_at.strftime("%Y-%m-%d %H:%M") }} UTC{% else %}not accepted (current version {{ licence.version }}{% if account.licence_version %}; you accepted {{ account.licence_version }}{% endif %}): orders are refused until you accept it{% endif %}</td></tr>
<tr><th>API tokens</th><td data-testid="token-count">{{ live_tokens }} active</td></tr>
<tr><th>orders</th><td data-testid="order-count">{{ orders|length }}</td></tr>
</table>
{% if not licence_ok %}<form method="post" action="{{ base }}/licence">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="licence_version" value="{{ licence.version }}">
<pre class="licence">{{ licence.text }}</pre>
<label><input name="accept_licence" type="checkbox"> I accept the data licence (version {{ licence.version }})</label>
<button type="submit">Accept</button></form>{% endif %}
<h2>Ordering</h2>
<p>From the website: fill the cart, then "download the cart" while signed in. From a script, with an API token:</p>
<pre><code>curl -fsS -H "Authorization: Bearer $TAKE5_TOKEN" -H "Content-Type: application/json" \\
  --data @cart.json {{ order_url }} -o order.meta4
aria2c --metalink-file=order.meta4 --check-integrity=true -d DIR</code></pre>
<p class="muted">cart.json: <code>[{"collection": "SITE", "item": "PRODUCT", "assets": ["XS1", "CLM"]}]</code>
(no <code>assets</code>: every file). The links are valid {{ expiry_days }} days.</p>
<h2>API tokens</h2>
{% if tokens %}<table data-testid="tokens"><tr><th>name</th><th>created</th><th>expires</th><th>last used</th><th></th></tr>
{% for t in tokens %}<tr><td>{{ t.name }}</td><td>{{ t.created_at.strftime("%Y-%m-%d") }}</td><td>{{ t.expires_at.strftime("%Y-%m-%d") }}</td>
<td>{{ t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never" }}</td>
<td>{% if t.revoked_at %}revoked{% elif t.expires_at < now %}expired{% else %}<form method="post" action="{{ base }}/tokens/{{ t.id }}/revoke" style="margin:0">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><button type="submit" style="margin:0">Revoke</button></form>{% endif %}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">none</p>{% endif %}
<form method="post" action="{{ base }}/tokens"><input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="name">New token: name</label><input id="name" name="name" type="text" required maxlength="64" value="script">
<label for="days">valid (days)</label><input id="days" name="days" type="number" min="1" max="3650" value="365">
<button type="submit">Create a token</button></form>
<h2>Orders</h2>
{% if orders %}<table data-testid="orders"><tr><th>#</th><th>when (UTC)</th><th>products</th><th>files</th><th>size</th><th>links valid until</th></tr>
{% for o in orders %}<tr><td>{{ o.id }}</td><td>{{ o.created_at.strftime("%Y-%m-%d %H:%M") }}</td><td>{{ o.products }}</td><td>{{ o.files }}</td>
<td>{{ o.bytes|filesizeformat }}</td><td>{{ (o.created_at + expiry).strftime("%Y-%m-%d %H:%M") }}</td></tr>{% endfor %}
</table>{% else %}<p class="muted">none yet</p>{% endif %}
<form method="post" action="{{ base }}/signout"><input type="hidden" name="csrf_token" value="{{ csrf }}"><button type="submit">Sign out</button></form>
{% endblock %}"""

_env = Environment(loader=DictLoader({"base": BASE, "signup": SIGNUP, "signin": SIGNIN, "licence": LICENCE,
                                      "account": ACCOUNT}),
                   autoescape=select_autoescape(default=True, default_for_string=True))


def render(page: str, **context) -> str:
    """The HTML of ``page`` (``signup``, ``signin``, ``licence``, ``account``)."""
    return _env.get_template(page).render(**context)
