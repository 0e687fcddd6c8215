#!/usr/bin/env bash
# Install the Debian packages the tests run for real, where missing: Prometheus and
# Alertmanager (with promtool and amtool), and Chromium with its chromedriver (the
# wallboard's browser test drives /usr/bin/chromium through /usr/bin/chromedriver).
# The tests start their own instances on free loopback ports, so the packaged daemons are
# kept from starting at install time (policy-rc.d below). DejaVu Sans is the font the
# monthly report's PDF is set in (Vietnamese needs a Unicode TrueType font).
set -euo pipefail

missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "ensure-tools: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: do not start the packaged daemons (no init system here anyway).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi
for tool in prometheus promtool prometheus-alertmanager amtool; do
  command -v "$tool" >/dev/null || { echo "ensure-tools: $tool still missing" >&2; exit 1; }
done
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || { echo "ensure-tools: $tool still missing" >&2; exit 1; }
done
echo "ensure-tools: $(prometheus --version 2>&1 | head -1)"
echo "ensure-tools: $(prometheus-alertmanager --version 2>&1 | head -1)"
echo "ensure-tools: $(/usr/bin/chromedriver --version 2>&1 | head -1)"
