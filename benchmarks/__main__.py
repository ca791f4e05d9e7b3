"""``python -m benchmarks`` (``make bench``): the harness is :mod:`benchmarks.bench`."""

import sys
from pathlib import Path

from benchmarks.bench import main

if __name__ == "__main__":  # (not in the peers' spawned worker processes)
    results = Path(__file__).parent / "results" / "latest.json"
    sys.exit(main(["--scale", *sys.argv[1:], "--json", str(results)]))
