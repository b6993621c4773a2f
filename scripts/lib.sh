# Shared by scripts/demo and scripts/test: a project virtualenv with the package installed.
set -euo pipefail

ensure_venv() {  # ensure_venv EXTRAS   (e.g. "" or "[test]")
  local extras="$1" python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python >= 3.11 is required (found: $("$python" --version 2>&1)); set PYTHON=python3.11" >&2
    exit 2
  fi
  if [[ ! -x .venv/bin/python ]]; then
    echo "» creating .venv with $("$python" --version)" >&2
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed${extras}"
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    echo "» installing operator-chaos${extras} into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
    touch "$stamp"
  fi
}
