"""Everything you start from the command line: ``python -m experiments.<verb>``.

Three jobs, each with one home:

* running and sweeping the model: ``run.py`` (one run, or a Hydra multirun with ``-m``);
* the analysis run on a sweep's results: ``analysis/`` (collect, compare, plot, report,
  advisor, optimize, params; ``metrics_meta``: each metric's direction, kind, unit and
  margin; ``inference``: intervals, paired tests and verdicts; ``breakdown``: metrics per
  place, hour or category; ``brief``: the sentences of the report's brief);
* the trainers' page: ``demo/`` (server, app, model, map, charts, text, animate);
  ``python -m experiments.demo`` runs ``demo/__main__.py``.

Every other command is a few lines here, ``experiments/<verb>.py``, that import ``main`` from
the package owning the job and call it::

    import sys

    from experiments.analysis.compare import main

    if __name__ == "__main__":
        sys.exit(main())

A new tool (``experiments.params``, ``experiments.sensitivity``, ``experiments.robustness``)
follows the same pattern: its code in the package of its job, its command a thin module here,
and its verb added to ``tests/test_layout.py`` so a later move that breaks it fails the suite.
"""
