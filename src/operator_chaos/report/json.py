"""The full result as JSON (camelCase, the wire format) and the JSON Schema describing it.

The JSON report is the machine-readable record: it must round-trip through
``SuiteResult.model_validate_json``. The schema is committed as ``docs/report-schema.json`` so
consumers can validate reports without installing this package; regenerate it with::

    python -m operator_chaos.report.json > docs/report-schema.json
"""

import json
import sys
from typing import Any

from operator_chaos.api.v1alpha1.result import SuiteResult

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def render(suite: SuiteResult) -> str:
    """Every field (defaults included, so readers need not know them), indent 2, newline-ended.

    Key order is the models' field order, which is fixed, so output is deterministic. The
    stdlib encoder is used rather than ``model_dump_json`` because the latter refuses lone
    surrogates (possible in text decoded from API responses); here they survive as ``\\udXXX``
    escapes when the file is written (see ``base.write_reports``).
    """
    data = suite.model_dump(mode="json", by_alias=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`SuiteResult` as it appears on the wire."""
    schema = SuiteResult.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def schema_text() -> str:
    """The schema exactly as committed in ``docs/report-schema.json``."""
    return json.dumps(report_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Print the schema to stdout (used to regenerate the committed copy)."""
    sys.stdout.write(schema_text())


if __name__ == "__main__":
    main()
