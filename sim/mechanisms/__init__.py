"""Mechanisms of the ODD process overview: pure, vectorised functions over arrays.

Each module is one mechanism of ``docs/ODD.md``.  Functions take the arrays
they read, their parameters and a numpy ``Generator``, and return new arrays;
none needs a model, so each can be tested alone.
"""
