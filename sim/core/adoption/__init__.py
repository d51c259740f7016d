"""Adoption kernels (mechanisms 1-3, 6, 7): exposure, referral, funnel, choice, churn, economics.

Each module is one mechanism of ``docs/ODD.md``: pure, vectorised functions
that take the arrays they read, their parameters and a numpy ``Generator``;
none needs a model, so each can be tested alone.
"""
