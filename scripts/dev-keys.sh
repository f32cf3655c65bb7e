#!/usr/bin/env bash
# The secrets of a local run (scripts/run.sh) or the benchmark (bench/run.sh), made with
# `verifyd keygen` in DIR unless DIR already holds them, readable by their owner only:
#   scripts/dev-keys.sh hash-key VERIFYD_BINARY DIR
#       DIR/hash.key: a hash key;
#   scripts/dev-keys.sh api-key VERIFYD_BINARY ACCOUNT DIR
#       DIR/keys.json: a keys file holding one sandbox key of ACCOUNT, and DIR/test.key:
#       the sk_test_ key itself; prints the key's id.
set -euo pipefail
usage() {
    echo "usage: scripts/dev-keys.sh hash-key VERIFYD_BINARY DIR" >&2
    echo "       scripts/dev-keys.sh api-key VERIFYD_BINARY ACCOUNT DIR" >&2
    exit 2
}
umask 077
case ${1:-} in
hash-key)
    [ $# -eq 3 ] || usage
    verifyd=$2 dir=$3
    [ -s "$dir/hash.key" ] || "$verifyd" keygen --hash-key >"$dir/hash.key"
    ;;
api-key)
    [ $# -eq 4 ] || usage
    verifyd=$2 account=$3 dir=$4
    if [ ! -s "$dir/keys.json" ]; then
        generated=$("$verifyd" keygen --account "$account" --mode test)
        sed -n 's/^key: //p' <<<"$generated" >"$dir/test.key"
        printf '{"keys": [%s]}\n' "$(sed -n 's/^entry: //p' <<<"$generated")" >"$dir/keys.json"
    fi
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$dir/keys.json"
    ;;
*)
    usage
    ;;
esac
