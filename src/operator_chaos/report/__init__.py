"""Report renderers: turn a :class:`~operator_chaos.api.v1alpha1.SuiteResult` into files.

Every renderer is a pure function of the result (no clock, no cluster, no environment), so the
same run always produces byte-identical reports and the renderers can be tested without mocks.
``base`` holds the format registry and :func:`~operator_chaos.report.base.write_reports`;
``text`` is the terminal summary the CLI prints after a run.

Submodules are deliberately not imported here: ``python -m operator_chaos.report.json`` must
be able to run that module as ``__main__`` without it having been imported first.
"""
