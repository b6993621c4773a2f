"""Allow ``python -m operator_chaos``."""

from operator_chaos.cli.app import main

main()
