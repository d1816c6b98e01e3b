#!/usr/bin/env bash
# Runs GoodTransfer.ML's test suite on a fresh Debian/Ubuntu machine with the .NET 10 SDK.
# Installs what the tests need from Debian when it is missing -- the test oracle (real PyTorch,
# torchvision and ONNX) and a real labelled image set (Fashion-MNIST) -- runs every test, and ends
# with the totals on a line of their own: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Debian packages the tests need, one per line, with what needs each. Missing ones are installed.
packages=(
  python3-torch python3-torchvision python3-onnx  # the oracle: real PyTorch 1.13, torchvision 0.14, ONNX
  dataset-fashion-mnist                           # a real labelled image set
  jupyter-nbconvert jupyter-client python3-ipykernel  # the notebook test runs the notebook headless in a real Jupyter kernel
  chromium                                        # the sample web service's page, tested in a real browser (headless)
  chromium-driver                                 # chromedriver, through which the browser test drives chromium
  redis-server                                    # the Orleans cluster tests keep the membership table in a real Redis
  libturbojpeg0                                   # the system's TurboJPEG, which decodes JPEGs when installed (tested against Skia and Pillow)
)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then missing+=("$package"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian..."
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

results=TestResults
rm -rf "$results"
status=0
dotnet test GoodTransfer.ML.sln -c Release --logger "trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@" || status=$?

passed=0; failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
