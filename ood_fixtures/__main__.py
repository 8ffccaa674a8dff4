"""Command-line tools of the suite: `python -m ood_fixtures compare OLD.json NEW.json`."""

import sys

from ood_fixtures.reports import compare

COMMANDS = {"compare": compare.main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m ood_fixtures {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
