#!/usr/bin/env bash
# Creates a keys file holding one new sandbox key, for local runs and the benchmark:
#   scripts/dev-keys.sh VERIFYD_BINARY ACCOUNT DIR
# writes DIR/keys.json (the keys file) and DIR/test.key (the sk_test_ key itself), both
# readable by their owner only, and prints the key's id.
set -euo pipefail
verifyd=$1 account=$2 dir=$3
generated=$("$verifyd" keygen --account "$account" --mode test)
entry=$(sed -n 's/^entry: //p' <<<"$generated")
(umask 077
 sed -n 's/^key: //p' <<<"$generated" >"$dir/test.key"
 printf '{"keys": [%s]}\n' "$entry" >"$dir/keys.json")
sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$entry"
