#!/usr/bin/env bash
# Real-browser check of the notebook sliders in JupyterLab 4 (not part of the pytest suite).
# Needs Chromium (apt-get install chromium) and Playwright for Python (.venv/bin/pip install playwright).
#   bash tests/browser/run.sh [NOTEBOOK.ipynb ...]      (default: every notebook with widgets)
# Runs copies of the notebooks in quick mode; SHOTS=/some/folder keeps before/after screenshots.
set -euo pipefail
cd "$(dirname "$0")/../.."
notebooks=("$@")
if [ $# -eq 0 ]; then   # every notebook whose code builds a widget
  notebooks=()
  for f in notebooks/*.ipynb; do
    grep -q "widgets" "$f" && notebooks+=("$(basename "$f")")
  done
fi
[ -z "${AUGKIT_DATA_DIR:-}" ] || export AUGKIT_DATA_DIR=$(realpath "$AUGKIT_DATA_DIR")
work=$(mktemp -d)
cp notebooks/*.ipynb "$work/"   # the browser saves what it runs: keep that out of the repository
mkdir -p "$work/.settings/@jupyterlab/notebook-extension"
# JupyterLab 4 renders only the cells in view by default; the check needs them all.
echo '{"windowingMode": "none"}' > "$work/.settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
JUPYTERLAB_SETTINGS_DIR=$work/.settings AUGKIT_QUICK=1 .venv/bin/jupyter lab --no-browser --allow-root \
    --port 8899 --IdentityProvider.token='' --ServerApp.password='' \
    --LabApp.expose_app_in_browser=True --ServerApp.root_dir="$work" > "$work/lab.log" 2>&1 &
lab=$!
trap 'kill $lab 2>/dev/null' EXIT
for _ in $(seq 60); do   # until the server answers (a minute at most)
  curl -sf -o /dev/null http://127.0.0.1:8899/lab && break
  sleep 1
done
status=0
for nb in "${notebooks[@]}"; do
  echo "== $nb"
  .venv/bin/python tests/browser/lab_widgets.py "$nb" || status=1
done
exit $status
