"""possync's development kit: everything the demo, the tests and the benchmarks need that production does not.

``sandbox.jurnal`` and ``sandbox.accurate`` are local, faithful emulators of the vendor APIs (they import
nothing from possync); ``demo_pos`` generates the demo POS database; ``headoffice_simulator`` plays the head
office; ``cli`` is the ``possync-devkit`` command (also ``python -m possync_devkit``). The production
distribution, ``possync``, ships none of it.
"""

__version__ = "0.1.0"
