#!/bin/bash
# Configure (once) and build cloudgate in the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    ./autogen.sh >/dev/null
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
    ./configure --prefix=/usr/local --sysconfdir=/usr/local/etc --localstatedir=/var \
        -q CFLAGS="${CFLAGS:--O2 -g}"
fi
make -j"$(nproc)" >/dev/null
