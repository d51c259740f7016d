"""Risk kernels and the credit side's state (mechanisms 4, 5, 8).

Kernels (``credit``, ``contagion``, ``insurance``, ``p2p``, ``regulation``) are
pure functions over arrays; the credit side's memory between steps is a plain
state object (``credit_state``) moved by step functions that take every input
explicitly, with no pointer to a model.
"""
