#!/bin/sh
# Refresh the web UI's message catalogues after changing page text (the traffic centre's pages share
# them): extracts every marked message (templates' _() / {% trans %}, scripts' t(), Python's N_() and
# Text(), the account refusals of edge/users.py) into messages.pot and merges it into each language's
# messages.po. Translate the new (empty or fuzzy) entries, then run tests/edge/web/test_i18n.py. The
# .po files are compiled in memory when the UI starts.
set -eu
cd "$(dirname "$0")/.."
LOCALES=edge/web/locale
POT=$(mktemp --suffix=.pot)  # the template is derived from the sources: not kept
trap 'rm -f "$POT"' EXIT
pybabel extract -F edge/web/babel.cfg -k N_ -k t -k Text -k UserError -k NoSuchUser -k LastAdmin \
  -k _keep_an_admin:3 --no-location --sort-output -o "$POT" .
for po in "$LOCALES"/*/LC_MESSAGES/messages.po; do
  locale=$(basename "$(dirname "$(dirname "$po")")")
  pybabel update -i "$POT" -o "$po" -l "$locale" --ignore-obsolete --no-fuzzy-matching
done
