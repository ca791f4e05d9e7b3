"""``python -m beamr``: the beamr command line (see :mod:`beamr.cli`)."""

from beamr.cli import main_exit

main_exit()
