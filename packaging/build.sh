#!/usr/bin/env bash
# Build the one-folder bundle dist/latent-explorer/ with PyInstaller, print its size and
# the build time, then run the bundled app's self-test headless.
#
# Run it from any folder, in the environment the app is installed in
# (python3 -m pip install -e . pyinstaller). Exits non-zero if the build or the self-test
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -m PyInstaller --version >/dev/null 2>&1; then
    echo "build.sh: PyInstaller is missing: python3 -m pip install pyinstaller" >&2
    exit 1
fi

bundle=dist/latent-explorer
started=$(date +%s)
python3 -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build packaging/latent-explorer.spec
elapsed=$(( $(date +%s) - started ))

echo
echo "bundle:     $bundle ($(du -sh "$bundle" | cut -f1), $(find "$bundle" -type f | wc -l) files)"
echo "build time: $((elapsed / 60)) min $((elapsed % 60)) s"
echo

# Headless, and with numba's kernel cache in a scratch folder, so the test starts cold
# like a first launch and leaves no compiled files inside the bundle.
numba_cache=$(mktemp -d)
trap 'rm -rf "$numba_cache"' EXIT
QT_QPA_PLATFORM=offscreen NUMBA_CACHE_DIR="$numba_cache" "$bundle/explorer" --self-test
