#!/usr/bin/env bash
# Regenerate deploy/requirements.lock: every package the service needs at run time
# ([project] dependencies of pyproject.toml and theirs), pinned, with the sha256 of every
# file PyPI has for that version. The image installs from it with --require-hashes.
#
#   deploy/lock.sh                           # after adding or changing a dependency: keeps
#                                            # the other pins, adds what is new
#   deploy/lock.sh --upgrade                 # take the newest versions the ranges allow
#   deploy/lock.sh --upgrade-package falcon  # just one
#
# (`make lock` runs the first form.) Resolves for CPython 3.11 on Linux, like the image,
# so run it with a Python 3.11 (PYTHON=python3.11 if python3 is another version).
# tests/deploy/test_lock.py fails while a dependency of pyproject.toml is missing here.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
PIP_TOOLS_VERSION=7.6.2

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "lock.sh: $PYTHON is not Python 3.11, the image's Python; set PYTHON=python3.11" >&2
    exit 2
fi

tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
"$PYTHON" -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet --disable-pip-version-check "pip-tools==$PIP_TOOLS_VERSION" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; } >&2

# The lock comes from the package index alone: this machine's pip configuration (local
# wheel folders, extra file:// indexes, constraint files) is ignored. PIP_INDEX_URL, if
# set, still names a mirror; it is not written into the lock.
# --allow-unsafe: should a dependency ever need setuptools or pip at run time, pin and hash
# it too (pip --require-hashes refuses an unpinned one).
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT -u PIP_REQUIRE_VIRTUALENV \
    PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="deploy/lock.sh" \
    "$tools/venv/bin/pip-compile" \
    --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
    --output-file deploy/requirements.lock "$@" pyproject.toml
echo "wrote deploy/requirements.lock"
