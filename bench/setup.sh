#!/usr/bin/env bash
# Benchmark-only dependencies for bench/documents.py (not needed by the service).
# Idempotent; run as root after `make install`: bash bench/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/pip ]]; then
    echo "no .venv: run 'make install' first" >&2
    exit 1
fi

apt_packages=(tesseract-ocr tesseract-ocr-osd fonts-dejavu-core fonts-liberation)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Python tools pinned in the [bench] extra (locust for bench/load.py, rapidfuzz for OCR CER).
.venv/bin/python -m pip install --quiet -e ".[bench]"
