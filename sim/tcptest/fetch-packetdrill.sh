#!/bin/sh
# Fetches the upstream packetdrill corpus for TestUpstream and
# TestPacketdrillSlice. It is GPLv2 and not copied into this repository.
# Usage: sim/tcptest/fetch-packetdrill.sh [DIR]   (default $TMPDIR/packetdrill)
# then:  TCPSIM_PACKETDRILL=DIR/gtests/net/tcp go test ./sim/tcptest -run 'TestUpstream|TestPacketdrillSlice' -v
set -eu
dir=${1:-${TMPDIR:-/tmp}/packetdrill}
rev=2c4001c4d6fc04a3bbd01d4b92be62717a37648a # the commit testdata/packetdrill/slice.txt was measured on
if [ ! -d "$dir/.git" ]; then
	git clone --quiet https://github.com/google/packetdrill.git "$dir"
fi
git -C "$dir" -c advice.detachedHead=false checkout --quiet "$rev"
echo "TCPSIM_PACKETDRILL=$dir/gtests/net/tcp"
