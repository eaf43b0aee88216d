"""Where the repository's folders are, for the tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
PLUGINS = ROOT / "plugins"
SITE_CONFIGS = ROOT / "include" / "site_configs"
