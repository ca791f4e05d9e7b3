"""beamr's worker side: ``python -m workers`` owns the WASM runtime for one instance.

The parent (:mod:`beamr`) never imports anything from here but the module name.
"""
