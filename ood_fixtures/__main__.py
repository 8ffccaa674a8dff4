"""`python -m ood_fixtures ...`: the `ood-fixtures` command (`ood_fixtures.cli`)."""

import sys

from ood_fixtures.cli import main

if __name__ == "__main__":
    sys.exit(main())
