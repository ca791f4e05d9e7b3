"""``python -m benchmarks`` (``make bench``): the harness lives in :mod:`beamr.bench`."""

import sys
from pathlib import Path

from beamr.bench import main

sys.exit(main([*sys.argv[1:], "--json", str(Path(__file__).parent / "results" / "latest.json")]))
