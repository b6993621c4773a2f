"""operator-chaos: chaos engineering for Kubernetes operators.

The package root stays import-free on purpose: the CLI's cold start budget (250 ms for
``--help``) leaves no room for eager imports of pydantic, the Kubernetes client or rich.
"""

__version__ = "0.1.0"
API_GROUP = "chaos.operatorchaos.io"
API_VERSION = f"{API_GROUP}/v1alpha1"
