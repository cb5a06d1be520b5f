"""The analysis a policy officer or researcher runs on a sweep's results.

``collect`` turns a sweep folder into tables, ``compare`` sets variants against a baseline,
``plot`` and ``report`` draw and publish them, ``advisor`` says how many seeds are enough,
``optimize`` searches for the cheapest staffing that meets targets, and ``metrics_meta`` says
which way each metric is better.  Each is started as ``python -m experiments.<verb>``.
"""
