#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main():
    # The demo project lives in site/; a top-level package named "site" would be
    # shadowed by Python's own site module, so site/ itself goes on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parent / "site"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
