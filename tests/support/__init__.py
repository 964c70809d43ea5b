"""What the tests share: gradient oracles (``gradcheck``), hypothesis strategies per operation's
domain (``strategies``), and helpers for each part of the library (``draw``, ``explain``,
``explorer``, ``nn``, ``sequence``)."""
