"""The engine is pure Python: importing it loads no Django, Wagtail or plugin code."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import importlib, pkgutil, sys
import interaction.engine as engine
for module in pkgutil.walk_packages(engine.__path__, "interaction.engine."):
    importlib.import_module(module.name)
foreign = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"django", "wagtail", "modelcluster", "rules", "ninja",
                              "pydantic", "taggit", "psycopg2"}
    or (name.startswith("interaction.") and not name.startswith("interaction.engine"))
)
print(len([m for m in sys.modules if m.startswith("interaction.engine.")]))
print(",".join(foreign))
"""


def test_the_engine_loads_no_django_wagtail_or_plugin_module():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded, foreign = result.stdout.splitlines()

    assert int(loaded) >= 9  # every engine module was imported
    assert foreign == ""
